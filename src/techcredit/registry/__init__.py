"""The model registry: the only package that imports mlflow.

Importing this package does not import mlflow; each function imports it when called,
so a process that only scores a bundle folder never pays for it.

- :func:`log_training_run`: log a training run (params, metrics, data snapshot hash,
  report artifacts) and the bundle as a pyfunc model defined from code; register a new
  version of the registered model and move the ``challenger`` alias to it.
- :func:`promote`: check the promotion gates of ``mlflow.yaml`` on a version's
  ``validation.json``; move ``champion`` only when every gate passes.
- :func:`resolve_bundle`: ``models:/<name>@<alias>``, ``models:/<name>/<version>`` or a
  folder -> a verified local bundle folder (downloaded once, then cached);
  :func:`resolve_model_version` also returns the name and version an alias named.
- :func:`version_info` and :func:`log_run_artifact`: a version's record (run, aliases,
  tags) and adding a file to its training run (the committee report).

Settings come from ``mlflow.yaml`` (:mod:`techcredit.config.mlflow`); the embedded
default is a local SQLite store that needs no server.
"""

from techcredit.registry.promotion import GateResult, PromotionResult, evaluate_gates, promote
from techcredit.registry.resolve import resolve_bundle, resolve_model_version, resolve_version_uri
from techcredit.registry.tracking import RegisteredVersion, log_training_run, sanitize_key
from techcredit.registry.versions import VersionInfo, log_run_artifact, version_info

__all__ = [
    "GateResult",
    "PromotionResult",
    "RegisteredVersion",
    "VersionInfo",
    "evaluate_gates",
    "log_run_artifact",
    "log_training_run",
    "promote",
    "resolve_bundle",
    "resolve_model_version",
    "resolve_version_uri",
    "sanitize_key",
    "version_info",
]
