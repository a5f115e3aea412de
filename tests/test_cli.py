"""The command line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from techcredit.cli import main


def test_help_lists_commands() -> None:
    out = subprocess.run([sys.executable, "-m", "techcredit.cli", "--help"],
                         capture_output=True, text=True, check=True).stdout
    for command in ("demo", "train", "promote", "rating", "generate", "sample"):
        assert command in out


def test_demo_trains_registers_promotes_and_scores(tmp_path, monkeypatch,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    """The README's main job, end to end on the committed sample, in a private store."""
    root = Path(__file__).resolve().parents[1]
    (tmp_path / "mlflow.yaml").write_text((root / "mlflow.yaml").read_text())
    monkeypatch.setenv("TECHCREDIT_MLFLOW_CONFIG", str(tmp_path / "mlflow.yaml"))
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    monkeypatch.delenv("MLFLOW_REGISTRY_URI", raising=False)
    repo_store = root / "mlflow.db"
    before = repo_store.stat().st_mtime_ns if repo_store.exists() else None
    assert main(["demo", "--quiet", "--examples", "3"]) == 0
    out = capsys.readouterr().out
    assert "AUC of the true PD" in out
    assert "registered techcredit version 1 as challenger" in out
    assert "promoted version 1 to champion" in out
    assert "models:/techcredit@champion" in out
    assert out.count("tax_loan") + out.count("invoice_loan") + out.count("tech_loan") >= 3
    assert (tmp_path / "mlflow.db").exists()
    after = repo_store.stat().st_mtime_ns if repo_store.exists() else None
    assert after == before  # the repository's own store was not touched


def test_generate_writes_tables(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["generate", "--n-firms", "50", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "invoices.parquet").exists()
    assert "digest" in capsys.readouterr().out


def test_bad_arguments_exit_nonzero() -> None:
    with pytest.raises(SystemExit) as info:
        main(["demo", "--n-firms", "many"])
    assert info.value.code == 2
