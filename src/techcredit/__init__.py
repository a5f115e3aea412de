"""techcredit: explainable credit decisions for Chinese micro and technology firms.

The public facade stays small; import submodules for the rest.

Examples
--------
>>> import techcredit
>>> techcredit.__version__
'0.1.0'
>>> sorted(techcredit.__all__)[:4]
['Application', 'ConfigError', 'Decider', 'Decision']
"""

from typing import TYPE_CHECKING, Any

from techcredit._version import __version__
from techcredit.exceptions import (
    ConfigError,
    InvalidInputError,
    ModelError,
    RegistryError,
    TechCreditError,
)

if TYPE_CHECKING:
    from techcredit.application import Application
    from techcredit.decision.result import Decision
    from techcredit.serving import Decider, score

__all__ = [
    "Application",
    "ConfigError",
    "Decider",
    "Decision",
    "InvalidInputError",
    "ModelError",
    "RegistryError",
    "TechCreditError",
    "__version__",
    "score",
]

# The serving names load on first use, so ``import techcredit`` (and any submodule,
# which imports this package first) stays light.
_LAZY = {"Application": "techcredit.application", "Decision": "techcredit.decision.result",
         "Decider": "techcredit.serving", "score": "techcredit.serving"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'techcredit' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)
