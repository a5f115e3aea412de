"""The registry side of the report: which version a URI names, and logging the page.

:func:`resolve_model` turns ``models:/<name>@<alias>`` or ``models:/<name>/<version>``
into a verified local bundle folder (:func:`techcredit.registry.resolve_model_version`,
which reads an alias once) and a :class:`~techcredit.reporting.inputs.ModelIdentity`
read from the model version. :func:`log_report` logs the HTML file as an artifact of
the version's training run under ``committee_report/v<version>/``. MLflow is reached
only through the public functions of :mod:`techcredit.registry`
(:func:`~techcredit.registry.version_info`, :func:`~techcredit.registry.log_run_artifact`).
"""

from __future__ import annotations

import logging
from pathlib import Path

from techcredit.config.mlflow import MlflowSettings
from techcredit.exceptions import RegistryError
from techcredit.registry import log_run_artifact, resolve_model_version, version_info
from techcredit.reporting.inputs import ModelIdentity

__all__ = ["REPORT_ARTIFACT_DIR", "log_report", "report_artifact_path", "resolve_model"]

logger = logging.getLogger(__name__)

#: Folder of the training run's artifacts that holds the committee reports.
REPORT_ARTIFACT_DIR = "committee_report"


def report_artifact_path(version: str) -> str:
    """Artifact folder of a version's report inside its training run.

    Examples
    --------
    >>> report_artifact_path("3")
    'committee_report/v3'
    """
    return f"{REPORT_ARTIFACT_DIR}/v{version}"


def resolve_model(uri: str, settings: MlflowSettings | None = None
                  ) -> tuple[Path, ModelIdentity]:
    """Return the verified bundle folder and the registry identity of a ``models:/`` URI.

    Raises
    ------
    RegistryError
        Not a ``models:/`` URI; unknown model, alias or version; unreachable store.
    ModelError
        The bundle fails verification or differs from the hash recorded at registration.
    """
    name, version, bundle = resolve_model_version(uri, settings)
    return bundle, ModelIdentity.from_version(version_info(name, version, settings), uri)


def log_report(path: Path | str, identity: ModelIdentity,
               settings: MlflowSettings | None = None) -> str:
    """Log the report file as an artifact of the version's training run.

    Returns
    -------
    str
        The artifact URI of the logged file.

    Raises
    ------
    RegistryError
        If the identity has no run (a bundle folder) or MLflow refuses.
    """
    reg = identity.registered
    if reg is None:
        raise RegistryError("the report of an unregistered bundle folder has no run to log to")
    uri = log_run_artifact(reg.run_id, path, report_artifact_path(reg.version), settings)
    logger.info("logged the committee report of %s version %s to %s", identity.model_name,
                reg.version, uri)
    return uri
