"""techcredit: explainable credit decisions for Chinese micro and technology firms.

The public facade stays small; import submodules for the rest.

Examples
--------
>>> import techcredit
>>> techcredit.__version__
'0.1.0'
"""

from techcredit.exceptions import (
    ConfigError,
    InvalidInputError,
    ModelError,
    RegistryError,
    TechCreditError,
)

__version__ = "0.1.0"

__all__ = [
    "ConfigError",
    "InvalidInputError",
    "ModelError",
    "RegistryError",
    "TechCreditError",
    "__version__",
]
