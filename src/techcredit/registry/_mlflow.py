"""Shared plumbing of the registry: lazy mlflow import, clients, error translation.

Nothing here imports mlflow at module level; :func:`mlflow_module` does it on first
use. That keeps ``import techcredit.registry`` (and a process that only scores a bundle
folder) free of MLflow's slow import.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from techcredit.config.mlflow import MlflowSettings, load_mlflow_settings
from techcredit.exceptions import RegistryError

if TYPE_CHECKING:
    from mlflow import MlflowClient

logger = logging.getLogger(__name__)

#: Model-version tags written by :func:`techcredit.registry.log_training_run`.
TAG_BUNDLE_JSON = "bundle_json_sha256"
TAG_MANIFEST = "bundle_manifest_sha256"
TAG_SNAPSHOT = "data_snapshot_sha256"
TAG_PROMOTION = "promotion"

_MODELS_ALIAS = re.compile(r"^models:/(?P<name>[^/@]+)@(?P<alias>[^/@]+)/?$")
_MODELS_VERSION = re.compile(r"^models:/(?P<name>[^/@]+)/(?P<version>[0-9]+)/?$")


def mlflow_module() -> ModuleType:
    """Import mlflow on first use, with its artifact progress bars off by default.

    The progress bars (``Downloading artifacts: ...``) are noise in a library; a user
    who wants them sets ``MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR=true`` before calling.
    """
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    import mlflow

    return mlflow


def settings_or_default(settings: MlflowSettings | None) -> MlflowSettings:
    """Return ``settings``, or those of ``mlflow.yaml`` and the environment."""
    return settings if settings is not None else load_mlflow_settings()


def sqlite_path(uri: str) -> Path | None:
    """Return the database file of a ``sqlite:///`` URI, else ``None``."""
    if not uri.startswith("sqlite:///"):
        return None
    rest = uri[len("sqlite:///"):].split("?", 1)[0]
    if not rest or rest.startswith(":memory:"):
        return None
    return Path(rest)


def require_existing_store(settings: MlflowSettings) -> None:
    """Refuse to read from a local SQLite registry that does not exist yet.

    MLflow would silently create an empty database (which takes seconds) and then
    report that the model does not exist; the error here says what to do instead.
    """
    for uri in {settings.tracking.uri, settings.tracking.effective_registry_uri}:
        db = sqlite_path(uri)
        if db is not None and not db.is_file():
            raise RegistryError(
                f"no model registry at {uri}: the database {db} does not exist "
                "(run `techcredit train` first, or set MLFLOW_TRACKING_URI)")


def client(settings: MlflowSettings) -> MlflowClient:
    """An :class:`mlflow.MlflowClient` bound to the settings' tracking and registry URIs."""
    mlflow = mlflow_module()
    return mlflow.MlflowClient(tracking_uri=settings.tracking.uri,
                               registry_uri=settings.tracking.effective_registry_uri)


@contextlib.contextmanager
def registry_errors(action: str) -> Iterator[None]:
    """Turn MLflow and storage errors inside the block into :class:`RegistryError`.

    Parameters
    ----------
    action : str
        What was being done, e.g. ``"download models:/techcredit/3"``; it starts the
        message.
    """
    from mlflow.exceptions import MlflowException

    try:
        yield
    except RegistryError:
        raise
    except MlflowException as exc:
        raise RegistryError(f"cannot {action}: {exc.message}") from exc
    except OSError as exc:
        raise RegistryError(f"cannot {action}: {exc}") from exc
    except Exception as exc:  # SQLAlchemy / HTTP client errors of an unreachable store
        module = type(exc).__module__
        if module.startswith(("sqlalchemy", "requests", "urllib3")):
            raise RegistryError(f"cannot {action}: {type(exc).__name__}: {exc}") from exc
        raise


@dataclass(frozen=True)
class ModelRef:
    """A parsed ``models:/`` URI: a registered model and an alias or a version."""

    name: str
    alias: str | None = None
    version: str | None = None

    def __str__(self) -> str:
        if self.alias is not None:
            return f"models:/{self.name}@{self.alias}"
        return f"models:/{self.name}/{self.version}"


def parse_models_uri(uri: str) -> ModelRef | None:
    """Parse ``models:/<name>@<alias>`` or ``models:/<name>/<version>``.

    Returns ``None`` when ``uri`` does not start with ``models:``.

    Raises
    ------
    RegistryError
        For any other ``models:`` form (stages, logged-model ids, sub-paths).

    Examples
    --------
    >>> parse_models_uri("models:/techcredit@champion")
    ModelRef(name='techcredit', alias='champion', version=None)
    >>> parse_models_uri("models:/techcredit/12").version
    '12'
    >>> parse_models_uri("/srv/bundles/b1") is None
    True
    """
    if not uri.startswith("models:"):
        return None
    if match := _MODELS_ALIAS.match(uri):
        return ModelRef(name=match["name"], alias=match["alias"])
    if match := _MODELS_VERSION.match(uri):
        return ModelRef(name=match["name"], version=match["version"])
    raise RegistryError(
        f"unsupported model URI {uri!r}: use models:/<name>@<alias> or "
        "models:/<name>/<version>")


def resolve_version(mlflow_client: MlflowClient, ref: ModelRef) -> str:
    """Return the version number a :class:`ModelRef` points at.

    Raises
    ------
    RegistryError
        If the registered model, alias or version does not exist.
    """
    if ref.version is not None:
        with registry_errors(f"find version {ref.version} of registered model {ref.name!r}"):
            return str(mlflow_client.get_model_version(ref.name, ref.version).version)
    with registry_errors(f"resolve alias {ref.alias!r} of registered model {ref.name!r}"):
        return str(mlflow_client.get_model_version_by_alias(ref.name, ref.alias).version)


def uri_digest(uri: str) -> str:
    """Short stable digest of a registry URI, used to keep bundle caches apart."""
    return hashlib.sha256(uri.encode("utf-8")).hexdigest()[:12]
