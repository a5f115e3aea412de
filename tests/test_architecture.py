"""The layers of DESIGN.md, enforced with import-linter (contracts in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.fail("import-linter is a dev dependency: pip install -e '.[dev]'")
    result = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True,
                            check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_loading_a_bundle_and_scoring_imports_no_heavy_library(tmp_path: Path) -> None:
    """Train in this process; score in a fresh one and list what it imported."""
    from techcredit.data import generate
    from techcredit.pipeline.train import train, training_frame

    tables = generate(2000, seed=8)
    bundle = tmp_path / "bundle"
    train(tables, bundle, progress=False)
    features, _, _ = training_frame(tables)
    features.iloc[:50].to_parquet(tmp_path / "features.parquet")
    code = (
        "import sys, pandas as pd\n"
        "from techcredit.decision.models import BundleModels\n"
        f"m = BundleModels.load({str(bundle)!r})\n"
        f"out = m.predict_features(pd.read_parquet({str(tmp_path / 'features.parquet')!r}))\n"
        "assert out['prob_default'].between(0, 1).all()\n"
        "heavy = ('mlflow', 'optbinning', 'ortools', 'shap', 'matplotlib')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
