"""Pydantic models of every YAML specification under ``models/`` and of ``mlflow.yaml``.

Each specification has its own module here (``generator``, ``scorecard``, ``policy`` ...);
this package re-exports the loader machinery.
"""

from techcredit.config._base import (
    StrictModel,
    default_models_dir,
    load_spec,
    read_yaml,
    source_root,
)

__all__ = [
    "StrictModel",
    "default_models_dir",
    "load_spec",
    "read_yaml",
    "source_root",
]
