"""Log a training run to MLflow and register its bundle as a new model version.

:func:`log_training_run` is what the training job calls once it has written and sealed
a bundle. It logs the run's parameters, metrics, data-snapshot hash and report
artifacts, logs the bundle as a pyfunc model *defined from code* (the model's code is
the file :mod:`techcredit.registry.pyfunc_model`, the bundle travels as a plain
artifact folder: nothing is pickled), registers a new version of the registered model
and moves the ``challenger`` alias to it.
"""

from __future__ import annotations

import json
import logging
import math
import re
import shutil
import tempfile
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

from techcredit._version import __version__
from techcredit.config.mlflow import MlflowSettings
from techcredit.decision.bundle import file_sha256, verify_bundle
from techcredit.exceptions import ModelError, RegistryError
from techcredit.registry._mlflow import (
    TAG_BUNDLE_JSON,
    TAG_MANIFEST,
    TAG_SNAPSHOT,
    client,
    mlflow_module,
    registry_errors,
    settings_or_default,
    sqlite_path,
)

__all__ = ["PYFUNC_INPUT_COLUMN", "PYFUNC_MODEL_FILE", "PYFUNC_OUTPUT_COLUMNS",
           "RegisteredVersion", "log_training_run", "sanitize_key"]

logger = logging.getLogger(__name__)

#: The models-from-code file MLflow copies into every logged model.
PYFUNC_MODEL_FILE = Path(__file__).with_name("pyfunc_model.py")
#: Name of the logged model inside the run, and of the bundle artifact inside it.
MODEL_NAME_IN_RUN = "model"
#: The pyfunc's one input column: each application's JSON text.
PYFUNC_INPUT_COLUMN = "application"
#: The pyfunc's output columns and their MLflow types (``string[]``: list of strings).
PYFUNC_OUTPUT_COLUMNS: tuple[tuple[str, str], ...] = (
    ("application_id", "long"), ("outcome", "string"), ("product", "string"),
    ("segment", "string"), ("model_kind", "string"), ("prob_default", "double"),
    ("score", "double"), ("risk_grade", "string"), ("innovation_tier", "string"),
    ("patent_value_cny", "double"), ("pledge_value_cny", "double"), ("limit_cny", "double"),
    ("rate_annual", "double"), ("term_months", "long"), ("reason_codes", "string[]"),
    ("rules_fired", "string[]"), ("challenger_prob_default", "double"),
    ("input_hash", "string"), ("decision_json", "string"),
)
BUNDLE_ARTIFACT = "bundle"

_MAX_PARAM_CHARS = 6000
_KEY_BAD = re.compile(r"[^A-Za-z0-9_\-. :/]")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_REQUIREMENTS = ("mlflow", "numpy", "pandas", "scikit-learn", "xgboost", "pydantic", "pyyaml")


@dataclass(frozen=True)
class RegisteredVersion:
    """A model version created by :func:`log_training_run`.

    Attributes
    ----------
    model_name : str
        Registered model name, e.g. ``"techcredit"``.
    version : str
        Version number, as MLflow spells it (``"3"``).
    run_id : str
        The training run that logged it.
    model_uri : str
        ``models:/<model_name>/<version>``, loadable with ``mlflow.pyfunc.load_model``
        or :func:`techcredit.registry.resolve_bundle`.
    """

    model_name: str
    version: str
    run_id: str
    model_uri: str


def sanitize_key(key: str) -> str:
    """Replace the characters MLflow refuses in param and metric keys with ``_``.

    MLflow accepts letters, digits, ``_ - . : /`` and spaces; a leading ``/`` and
    ``..`` path parts are refused too.

    Examples
    --------
    >>> sanitize_key("micro.xgboost.auc")
    'micro.xgboost.auc'
    >>> sanitize_key("tech_growth.scorecard.KS@10%")
    'tech_growth.scorecard.KS_10_'
    >>> sanitize_key("/a/../b")
    'a/_/b'
    """
    clean = _KEY_BAD.sub("_", str(key)).lstrip("/")
    parts = ["_" if part == ".." else part for part in clean.split("/")]
    clean = "/".join(parts)
    if not clean:
        raise RegistryError(f"key {key!r} has no character MLflow accepts")
    return clean


def _sanitized(mapping: Mapping[str, Any], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        clean = sanitize_key(key)
        if clean in out:
            raise RegistryError(f"{what} keys {key!r} and another key both become {clean!r}")
        out[clean] = value
    return out


def _param_text(key: str, value: object) -> str:
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
        except (TypeError, ValueError):
            text = str(value)
    if len(text) > _MAX_PARAM_CHARS:
        logger.warning("param %s is %d characters long; truncated to %d (log long "
                       "values as artifacts)", key, len(text), _MAX_PARAM_CHARS)
        text = text[:_MAX_PARAM_CHARS]
    return text


def _metric_value(key: str, value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError) as exc:
        raise RegistryError(f"metric {key!r} is not a number: {value!r}") from exc
    if not math.isfinite(number):
        logger.warning("metric %s is %s (logged as is)", key, number)
    return number


def _stage_artifacts(artifacts: Mapping[str, Path], staging: Path) -> None:
    """Copy report artifacts into ``staging`` under their keys (relative POSIX paths).

    A file goes to ``<key>``, with the source's suffix appended when the key lacks it
    (``{"validation": .../validation.json}`` -> ``validation.json``); a folder is copied
    whole to ``<key>/``.
    """
    for key, source in artifacts.items():
        rel = PurePosixPath(key)
        if not key or rel.is_absolute() or ".." in rel.parts:
            raise RegistryError(f"artifact name {key!r} must be a relative path")
        source = Path(source)
        if source.is_dir():
            shutil.copytree(source, staging.joinpath(*rel.parts), dirs_exist_ok=True)
            continue
        if not source.is_file():
            raise RegistryError(f"artifact {key!r}: {source} does not exist")
        if source.suffix and rel.suffix != source.suffix:
            rel = rel.with_name(rel.name + source.suffix)
        target = staging.joinpath(*rel.parts)
        if target.exists():
            raise RegistryError(f"two artifacts are both named {rel}")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


def _requirements() -> list[str]:
    """Pinned requirements written next to the logged model.

    Never inferred: inference loads the model in a subprocess, which is slow and adds
    nothing a fixed list does not say.
    """
    pins = []
    for name in _REQUIREMENTS:
        try:
            pins.append(f"{name}=={metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    # techcredit itself must be installed where the model is served (it holds the
    # scoring code). It is deliberately not listed: it is not on a public index, and a
    # bare name would let pip fetch whatever package of that name an index offers.
    return pins


def _signature() -> Any:
    """Input: one string column ``application``; output: :data:`PYFUNC_OUTPUT_COLUMNS`.

    MLflow checks the input column's presence and type (``mlflow models predict``,
    serving, ``spark_udf`` with no column arguments); techcredit validates each
    application's content. ``spark_udf`` derives its struct result type from the outputs.
    """
    from mlflow.models import ModelSignature
    from mlflow.types.schema import Array, ColSpec, Schema

    def spec(name: str, kind: str) -> Any:
        if kind.endswith("[]"):
            return ColSpec(Array(kind[:-2]), name)  # type: ignore[arg-type]
        return ColSpec(kind, name)  # type: ignore[arg-type]

    return ModelSignature(
        inputs=Schema([ColSpec("string", PYFUNC_INPUT_COLUMN)]),
        outputs=Schema([spec(name, kind) for name, kind in PYFUNC_OUTPUT_COLUMNS]))


def _experiment_id(mlflow_client: Any, settings: MlflowSettings) -> str:
    tracking = settings.tracking
    experiment = mlflow_client.get_experiment_by_name(tracking.experiment)
    if experiment is not None:
        if experiment.lifecycle_stage != "active":
            raise RegistryError(
                f"experiment {tracking.experiment!r} is deleted in {tracking.uri}; "
                "restore it or choose another name in mlflow.yaml (tracking.experiment)")
        return str(experiment.experiment_id)
    location = None
    if tracking.is_local:
        root = tracking.artifact_root
        location = root if "://" in root else Path(root).resolve().as_uri()
    logger.info("creating experiment %s (artifacts %s)", tracking.experiment,
                location or "chosen by the tracking server")
    return str(mlflow_client.create_experiment(tracking.experiment, artifact_location=location))


def _ensure_registered_model(mlflow_client: Any, name: str) -> None:
    from mlflow.exceptions import MlflowException

    try:
        mlflow_client.get_registered_model(name)
    except MlflowException as exc:
        if exc.error_code != "RESOURCE_DOES_NOT_EXIST":
            raise
        mlflow_client.create_registered_model(
            name, description="techcredit credit-decision bundles (one version per training run)")
        logger.info("created registered model %s", name)


def log_training_run(
    bundle_dir: Path | str,
    *,
    params: Mapping[str, object],
    metrics: Mapping[str, float],
    artifacts: Mapping[str, Path],
    snapshot_sha256: str,
    settings: MlflowSettings | None = None,
    run_name: str | None = None,
) -> RegisteredVersion:
    """Log one training run and register its bundle as the new ``challenger``.

    Parameters
    ----------
    bundle_dir : path
        A sealed bundle (:class:`techcredit.decision.bundle.BundleWriter`); it is
        verified against its manifest before anything is logged.
    params : mapping
        Run parameters; non-string values are logged as JSON.
    metrics : mapping of str to float
        Run metrics, keys like ``micro.xgboost.auc``; characters MLflow refuses are
        replaced by ``_`` (:func:`sanitize_key`).
    artifacts : mapping of str to path
        Report files (scorecard tables, validation plots, ``validation.json``) or
        folders, logged under ``artifacts/<key>`` of the run.
    snapshot_sha256 : str
        sha256 of the training data snapshot; logged as param and tag, and tagged on the
        model version.
    settings : MlflowSettings, optional
        ``mlflow.yaml`` and the environment when omitted.
    run_name : str, optional
        Display name of the run.

    Returns
    -------
    RegisteredVersion
        The new version, which the ``challenger`` alias now points at.

    Raises
    ------
    ModelError
        If the bundle fails verification.
    RegistryError
        If MLflow refuses or cannot be reached.

    Notes
    -----
    Sets MLflow's process-wide tracking and registry URIs to those of ``settings``
    (MLflow's logging API has no other way to choose a store).
    """
    settings = settings_or_default(settings)
    bundle = Path(bundle_dir).resolve()
    manifest = verify_bundle(bundle)
    files = manifest.get("files", {})
    if "bundle.json" not in files:
        raise ModelError(f"bundle {bundle} has no bundle.json")
    if not _SHA256.match(snapshot_sha256 or ""):
        raise RegistryError(f"snapshot_sha256 must be 64 lowercase hex digits, "
                            f"got {snapshot_sha256!r}")
    bundle_tags = {
        TAG_BUNDLE_JSON: str(files["bundle.json"]),
        TAG_MANIFEST: file_sha256(bundle / "manifest.json"),
        TAG_SNAPSHOT: snapshot_sha256,
    }
    clean_params = {k: _param_text(k, v) for k, v in _sanitized(params, "param").items()}
    if TAG_SNAPSHOT in clean_params and clean_params[TAG_SNAPSHOT] != snapshot_sha256:
        raise RegistryError(f"param {TAG_SNAPSHOT} differs from snapshot_sha256")
    clean_params[TAG_SNAPSHOT] = snapshot_sha256
    clean_metrics = {k: _metric_value(k, v) for k, v in _sanitized(metrics, "metric").items()}

    mlflow = mlflow_module()
    tracking = settings.tracking
    db = sqlite_path(tracking.uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    name = settings.registry.model_name
    with registry_errors(f"log the training run to {tracking.uri}"):
        mlflow.set_tracking_uri(tracking.uri)
        mlflow.set_registry_uri(tracking.effective_registry_uri)
        mlflow_client = client(settings)
        experiment_id = _experiment_id(mlflow_client, settings)
        tags = {**bundle_tags, "techcredit_version": __version__}
        with mlflow.start_run(experiment_id=experiment_id, run_name=run_name, tags=tags) as run:
            run_id = run.info.run_id
            mlflow.log_params(clean_params)
            if clean_metrics:
                mlflow.log_metrics(clean_metrics)
            with tempfile.TemporaryDirectory(prefix="techcredit-artifacts-") as staging:
                _stage_artifacts(artifacts, Path(staging))
                if any(Path(staging).iterdir()):
                    mlflow.log_artifacts(staging, artifact_path="artifacts")
            with warnings.catch_warnings():
                # Known and harmless: the signature names the input column; an example
                # would make MLflow load and run the model while logging it.
                warnings.filterwarnings("ignore", message=".*input example was not provided",
                                        category=UserWarning)
                info = mlflow.pyfunc.log_model(
                    name=MODEL_NAME_IN_RUN,
                    python_model=str(PYFUNC_MODEL_FILE),
                    artifacts={BUNDLE_ARTIFACT: str(bundle)},
                    signature=_signature(),
                    pip_requirements=_requirements(),
                    metadata={"bundle_format": manifest.get("format"), **bundle_tags},
                )
            _ensure_registered_model(mlflow_client, name)
            created = mlflow_client.create_model_version(
                name=name, source=info.model_uri, run_id=run_id, model_id=info.model_id,
                tags={**bundle_tags, "run_id": run_id},
                description=f"bundle {bundle.name}, data snapshot {snapshot_sha256[:12]}",
            )
            version = str(created.version)
            mlflow_client.set_registered_model_alias(
                name, settings.registry.challenger_alias, version)
    logger.info("registered %s version %s (run %s) as %s", name, version, run_id,
                settings.registry.challenger_alias)
    return RegisteredVersion(model_name=name, version=version, run_id=run_id,
                             model_uri=f"models:/{name}/{version}")
