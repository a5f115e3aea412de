"""Resolve a model URI to a verified local bundle folder.

:func:`resolve_bundle` accepts the URIs of the serving contract
(``models:/techcredit@champion``, ``models:/techcredit/3``) or a bundle folder. A
registered version's bundle is downloaded once into a cache folder
(``<bundle_cache>/<registry digest>/<name>/<version>``), verified against its manifest
and against the manifest hash recorded on the model version when it was registered,
and reused afterwards. A cached or downloaded bundle that fails verification is
refused with :class:`~techcredit.exceptions.ModelError`, never repaired silently.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path, PurePosixPath
from typing import Any

import yaml

from techcredit.config.mlflow import MlflowSettings
from techcredit.decision.bundle import file_sha256, verify_bundle
from techcredit.exceptions import ModelError, RegistryError
from techcredit.registry._mlflow import (
    TAG_MANIFEST,
    ModelRef,
    client,
    mlflow_module,
    parse_models_uri,
    registry_errors,
    require_existing_store,
    resolve_version,
    settings_or_default,
    uri_digest,
)

__all__ = ["bundle_cache_dir", "resolve_bundle", "resolve_model_version",
           "resolve_version_uri"]

logger = logging.getLogger(__name__)


def bundle_cache_dir(settings: MlflowSettings, name: str, version: str) -> Path:
    """Folder where the bundle of ``name`` version ``version`` is cached.

    Examples
    --------
    >>> import tempfile
    >>> s = MlflowSettings.local(tempfile.mkdtemp())
    >>> bundle_cache_dir(s, "techcredit", "3").parts[-2:]
    ('techcredit', '3')
    """
    registry = settings.tracking.effective_registry_uri
    return Path(settings.registry.bundle_cache) / uri_digest(registry) / name / version


def _bundle_path_in_model(mlmodel: Path, uri: str) -> PurePosixPath:
    """Relative path of the ``bundle`` artifact inside a logged pyfunc model."""
    try:
        document = yaml.safe_load(mlmodel.read_text(encoding="utf-8"))
        path = document["flavors"]["python_function"]["artifacts"]["bundle"]["path"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise RegistryError(f"{uri} is not a techcredit model: its MLmodel names no "
                            "'bundle' artifact") from exc
    rel = PurePosixPath(str(path))
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise RegistryError(f"{uri}: MLmodel gives an invalid bundle path {path!r}")
    return rel


def _check_recorded_hash(folder: Path, expected: str | None, where: str) -> None:
    if expected is None:
        raise RegistryError(f"{where} carries no {TAG_MANIFEST} tag: it was not registered "
                            "by techcredit.registry.log_training_run")
    actual = file_sha256(folder / "manifest.json")
    if actual != expected:
        raise ModelError(f"bundle of {where} does not match the manifest hash recorded in "
                         f"the registry ({TAG_MANIFEST} {expected[:12]}..., found "
                         f"{actual[:12]}...): refusing a tampered bundle")


def _download(settings: MlflowSettings, ref: ModelRef, version: str, target: Path) -> None:
    """Download the bundle of a version into ``target`` (which must not exist)."""
    mlflow = mlflow_module()
    base = f"models:/{ref.name}/{version}"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{version}-", dir=target.parent) as tmp:
        with registry_errors(f"download the model files of {base}"):
            mlmodel = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{base}/MLmodel", dst_path=str(Path(tmp) / "meta"),
                tracking_uri=settings.tracking.uri,
                registry_uri=settings.tracking.effective_registry_uri)
        rel = _bundle_path_in_model(Path(mlmodel), base)
        with registry_errors(f"download the bundle of {base}"):
            local = mlflow.artifacts.download_artifacts(
                artifact_uri=f"{base}/{rel}", dst_path=str(Path(tmp) / "data"),
                tracking_uri=settings.tracking.uri,
                registry_uri=settings.tracking.effective_registry_uri)
        downloaded = Path(local)
        if not downloaded.is_dir():
            raise RegistryError(f"the bundle artifact of {base} is not a folder")
        try:
            downloaded.rename(target)
        except OSError:
            if not (target / "manifest.json").is_file():
                raise
            logger.info("another process cached %s first; using its copy", base)


def resolve_version_uri(uri: str, settings: MlflowSettings | None = None) -> tuple[str, str]:
    """Return ``(name, version)`` of a ``models:/`` URI, resolving an alias.

    Raises
    ------
    RegistryError
        If the URI is not a ``models:/`` URI, or the model, alias or version is unknown.
    """
    settings = settings_or_default(settings)
    ref = parse_models_uri(uri)
    if ref is None:
        raise RegistryError(f"{uri!r} is not a models:/ URI")
    require_existing_store(settings)
    return ref.name, resolve_version(client(settings), ref)


def resolve_model_version(uri: str, settings: MlflowSettings | None = None
                          ) -> tuple[str, str, Path]:
    """Resolve a ``models:/`` URI once: its name, version and verified local bundle.

    An alias is read once, so the bundle is that version's even if the alias moves
    meanwhile: callers that record the version (serving, the report) use this rather
    than :func:`resolve_version_uri` followed by :func:`resolve_bundle`.

    Parameters
    ----------
    uri : str
        ``models:/<name>@<alias>`` or ``models:/<name>/<version>``.
    settings : MlflowSettings, optional
        ``mlflow.yaml`` and the environment when omitted.

    Returns
    -------
    name, version : str
        Registered model name and the version the URI names.
    bundle : Path
        Absolute path of the version's bundle folder (downloaded once, then cached),
        verified against its manifest and the manifest hash recorded at registration.

    Raises
    ------
    RegistryError
        Not a ``models:/`` URI; unknown model, alias or version; unreachable store;
        missing artifact.
    ModelError
        A bundle that fails verification or differs from the recorded manifest hash.

    Examples
    --------
    >>> import tempfile
    >>> resolve_model_version("runs:/abc/model", MlflowSettings.local(tempfile.mkdtemp()))
    Traceback (most recent call last):
    ...
    techcredit.exceptions.RegistryError: 'runs:/abc/model' is not a models:/ URI
    """
    ref = parse_models_uri(uri)
    if ref is None:
        raise RegistryError(f"{uri!r} is not a models:/ URI")
    settings = settings_or_default(settings)
    require_existing_store(settings)
    mlflow_client = client(settings)
    version = resolve_version(mlflow_client, ref)
    where = f"models:/{ref.name}/{version}"
    with registry_errors(f"read the tags of {where}"):
        model_version: Any = mlflow_client.get_model_version(ref.name, version)
    expected = (model_version.tags or {}).get(TAG_MANIFEST)
    target = bundle_cache_dir(settings, ref.name, version)
    if not target.is_dir():
        logger.info("downloading the bundle of %s (%s) to %s", where, ref, target)
        _download(settings, ref, version, target)
    else:
        logger.info("using the cached bundle of %s at %s", where, target)
    try:
        verify_bundle(target)
    except ModelError as exc:
        raise ModelError(f"{exc} (bundle of {where} in {target}; delete that folder to "
                         "download it again once the cause is understood)") from exc
    _check_recorded_hash(target, expected, where)
    return ref.name, version, target.resolve()


def resolve_bundle(uri: str | Path, settings: MlflowSettings | None = None) -> Path:
    """Return a verified local bundle folder for a model URI or a bundle folder.

    Parameters
    ----------
    uri : str or path
        ``models:/<name>@<alias>``, ``models:/<name>/<version>``, or the path of a
        bundle folder (verified and returned as is; MLflow is not imported).
    settings : MlflowSettings, optional
        ``mlflow.yaml`` and the environment when omitted.

    Returns
    -------
    Path
        Absolute path of a bundle folder that passed :func:`verify_bundle`.

    Raises
    ------
    RegistryError
        Unknown model, alias or version; unreachable store; missing artifact; a path
        that does not exist.
    ModelError
        A bundle that fails verification (a changed, missing or added file), or that
        differs from the manifest hash recorded on the model version.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> from techcredit.decision.bundle import BundleWriter
    >>> folder = pathlib.Path(tempfile.mkdtemp()) / "bundle"
    >>> writer = BundleWriter(folder)
    >>> writer.write_json("bundle.json", {"model_name": "demo"})
    >>> _ = writer.finish()
    >>> resolve_bundle(folder) == folder.resolve()
    True
    """
    text = str(uri)
    ref = parse_models_uri(text)
    if ref is None:
        if "://" in text or text.startswith(("runs:", "models:")):
            raise RegistryError(f"unsupported model URI {text!r}: use models:/<name>@<alias>, "
                                "models:/<name>/<version> or a bundle folder")
        folder = Path(text)
        if not folder.is_dir():
            raise RegistryError(f"{text!r} is neither a models:/ URI nor a bundle folder")
        verify_bundle(folder)
        return folder.resolve()
    return resolve_model_version(text, settings)[2]
