"""Models per segment: the WOE scorecard, its metrics, and (later) boosting.

Kept light: names are imported on first use, so ``import techcredit.modeling`` pulls in
neither optbinning nor any model code.

Examples
--------
>>> import techcredit.modeling as modeling
>>> modeling.Scorecard.__name__
'Scorecard'
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["RowScore", "Scorecard", "metrics"]

_LAZY = {
    "Scorecard": ("techcredit.modeling.scorecard", "Scorecard"),
    "RowScore": ("techcredit.modeling.scorecard", "RowScore"),
    "metrics": ("techcredit.modeling.metrics", None),
}


def __getattr__(name: str) -> Any:
    try:
        module_name, attr = _LAZY[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    return module if attr is None else getattr(module, attr)
