"""Shared fixtures: one small trained bundle per test session (decision-engine tests)."""

from __future__ import annotations

from pathlib import Path

import pytest

from techcredit.data import generate
from techcredit.schemas import RawTables


@pytest.fixture(scope="session")
def decision_tables() -> RawTables:
    """3,000 generated firms with one application each."""
    return generate(3000, seed=11)


@pytest.fixture(scope="session")
def decision_bundle(decision_tables: RawTables, tmp_path_factory: pytest.TempPathFactory
                    ) -> Path:
    """A bundle trained on :func:`decision_tables` (about 15 s)."""
    from techcredit.pipeline.train import train

    folder = tmp_path_factory.mktemp("decision") / "bundle"
    train(decision_tables, folder, progress=False)
    return folder
