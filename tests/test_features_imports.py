"""The feature builders stay light: no heavy or modelling libraries on import."""

from __future__ import annotations

import subprocess
import sys

FORBIDDEN = ("mlflow", "optbinning", "shap", "matplotlib", "xgboost")


def test_features_import_no_heavy_libraries():
    code = (
        "import sys, techcredit.features, techcredit.features.build\n"
        f"bad = [m for m in {FORBIDDEN!r} if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == ""
