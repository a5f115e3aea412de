"""Pydantic model of ``mlflow.yaml``: tracking, registry, serving and promotion gates.

The file lives at the root of the repository. The embedded default is a local SQLite
store next to it (``sqlite:///mlflow.db``, artifacts under ``mlruns/``), so training and
promotion need no server. Relative paths in the file are resolved against the folder
holding the file, never against the working directory.

Overrides, strongest first:

- ``MLFLOW_TRACKING_URI`` (and ``MLFLOW_REGISTRY_URI``) replace ``tracking.uri`` (and
  ``tracking.registry_uri``), e.g. to point at a team tracking server;
- ``TECHCREDIT_MLFLOW_CONFIG`` names another YAML file to read instead of the
  repository's ``mlflow.yaml``.

This module only describes settings; :mod:`techcredit.registry` is the code that talks
to MLflow, and the only code that imports it.

Examples
--------
>>> settings = load_mlflow_settings(environ={})
>>> settings.registry.model_name, settings.registry.champion_alias
('techcredit', 'champion')
>>> settings.tracking.uri.startswith("sqlite:////")
True
>>> settings.promotion.gates_for("micro").max_calibration_excess
0.015
>>> load_mlflow_settings(environ={"MLFLOW_TRACKING_URI": "http://mlflow.internal:5000"}
...                      ).tracking.uri
'http://mlflow.internal:5000'
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, ValidationError, model_validator

from techcredit.config._base import StrictModel, read_yaml, source_root
from techcredit.exceptions import ConfigError

__all__ = [
    "CONFIG_ENV",
    "SEGMENTS",
    "GateLimits",
    "MlflowSettings",
    "PromotionSettings",
    "RegistrySettings",
    "SegmentGateLimits",
    "ServingSettings",
    "TrackingSettings",
    "default_mlflow_config",
    "load_mlflow_settings",
]

CONFIG_ENV = "TECHCREDIT_MLFLOW_CONFIG"
TRACKING_ENV = "MLFLOW_TRACKING_URI"
REGISTRY_ENV = "MLFLOW_REGISTRY_URI"
SEGMENTS = ("micro", "tech_startup", "tech_growth")

Segment = Literal["micro", "tech_startup", "tech_growth"]
Unit = Annotated[float, Field(ge=0, le=1)]
NonNegative = Annotated[float, Field(ge=0)]
Name = Annotated[str, Field(min_length=1, pattern=r"^[A-Za-z0-9_.\-]+$")]


class TrackingSettings(StrictModel):
    """Where runs and the registry live.

    Attributes
    ----------
    uri : str
        MLflow tracking URI. ``sqlite:///<relative path>`` is resolved against the
        folder of the settings file; ``http(s)://`` points at a tracking server.
    registry_uri : str or None
        Model registry URI; the tracking URI when omitted.
    artifact_root : str
        Artifact location given to a newly created experiment when the store is local
        (``sqlite:`` or ``file:``); a relative path is resolved like ``uri``. A tracking
        server decides artifact locations itself, so this is ignored for it.
    experiment : str
        Experiment that training runs are logged to (created on first use).
    """

    uri: Annotated[str, Field(min_length=1)] = "sqlite:///mlflow.db"
    registry_uri: str | None = None
    artifact_root: Annotated[str, Field(min_length=1)] = "mlruns"
    experiment: Annotated[str, Field(min_length=1)] = "techcredit"

    @property
    def effective_registry_uri(self) -> str:
        """The registry URI, defaulting to the tracking URI."""
        return self.registry_uri or self.uri

    @property
    def is_local(self) -> bool:
        """Whether the store is a local SQLite database or file store (no server)."""
        return self.uri.startswith(("sqlite:", "file:")) or "://" not in self.uri


class RegistrySettings(StrictModel):
    """The registered model and its aliases.

    Attributes
    ----------
    model_name : str
        Registered model every training run adds a version to.
    champion_alias, challenger_alias : str
        Alias of the version that decides, and of the newest trained version.
    bundle_cache : str
        Folder where downloaded bundles are kept, one per registry, model and version
        (relative paths are resolved against the folder of the settings file).
    """

    model_name: Name = "techcredit"
    champion_alias: Name = "champion"
    challenger_alias: Name = "challenger"
    bundle_cache: Annotated[str, Field(min_length=1)] = "mlruns/bundle-cache"

    @model_validator(mode="after")
    def _aliases_differ(self) -> RegistrySettings:
        if self.champion_alias == self.challenger_alias:
            raise ValueError("champion_alias and challenger_alias must differ")
        return self


class ServingSettings(StrictModel):
    """What a decider loads by default.

    Attributes
    ----------
    model_uri : str
        ``models:/<name>@<alias>``, ``models:/<name>/<version>`` or a bundle folder.
    shadow_challenger : bool
        Also score each application with the segment's challenger model (logged, never
        decisive).
    """

    model_uri: Annotated[str, Field(min_length=1)] = "models:/techcredit@champion"
    shadow_challenger: bool = True


class GateLimits(StrictModel):
    """Promotion gates on a segment's champion model, all measured on validation data.

    Attributes
    ----------
    min_auc : float
        Lowest acceptable ROC AUC.
    min_ks : float
        Lowest acceptable Kolmogorov-Smirnov statistic.
    max_psi_excess : float
        Highest acceptable population stability index between the train and the
        validation score distributions beyond sampling noise: ``psi`` minus the PSI that
        two samples of those sizes from one distribution exceed one time in twenty
        (``psi_noise``), floored at 0 (:func:`techcredit.modeling.metrics.psi_summary`).
        On large segments it approaches the plain ``psi`` (also in ``validation.json``);
        a segment with 100 validation rows shows PSI near 0.1 from sampling alone.
    max_calibration_excess : float
        Highest acceptable calibration gap beyond sampling noise, in probability units:
        over validation deciles, the largest ``|mean predicted PD - observed default
        rate|`` minus 1.96 binomial standard errors of the observed rate (floored at 0).
        On large segments it approaches the plain gap (``calibration_error`` in
        ``validation.json``, also reported); on thin ones it does not fail a model for
        noise it cannot control.
    """

    min_auc: Unit
    min_ks: Unit
    max_psi_excess: NonNegative
    max_calibration_excess: Unit


class SegmentGateLimits(StrictModel):
    """Per-segment overrides of :class:`GateLimits`; omitted gates use the default."""

    min_auc: Unit | None = None
    min_ks: Unit | None = None
    max_psi_excess: NonNegative | None = None
    max_calibration_excess: Unit | None = None


class PromotionSettings(StrictModel):
    """Gates that a version must pass before ``champion`` moves to it.

    Attributes
    ----------
    default : GateLimits
        Gates of every segment.
    segments : dict
        Per-segment overrides (``micro``, ``tech_startup``, ``tech_growth``).
    """

    default: GateLimits
    segments: dict[Segment, SegmentGateLimits] = Field(default_factory=dict)

    def gates_for(self, segment: str) -> GateLimits:
        """Return the gates of ``segment``: the default with the segment's overrides.

        Examples
        --------
        >>> spec = PromotionSettings(
        ...     default=GateLimits(min_auc=0.7, min_ks=0.3, max_psi_excess=0.1,
        ...                        max_calibration_excess=0.015),
        ...     segments={"micro": SegmentGateLimits(min_auc=0.6)})
        >>> spec.gates_for("micro").min_auc, spec.gates_for("tech_growth").min_auc
        (0.6, 0.7)
        """
        override = self.segments.get(segment)  # type: ignore[call-overload]
        if override is None:
            return self.default
        changes = override.model_dump(exclude_none=True)
        return self.default.model_copy(update=changes)


class MlflowSettings(StrictModel):
    """All of ``mlflow.yaml``.

    Build it with :func:`load_mlflow_settings` (which resolves relative paths and
    applies the environment overrides) or directly, e.g. in tests, with absolute paths.
    """

    tracking: TrackingSettings = TrackingSettings()
    registry: RegistrySettings = RegistrySettings()
    serving: ServingSettings = ServingSettings()
    promotion: PromotionSettings | None = None
    """The reviewed gates; ``None`` without a ``promotion`` section (promotion then
    refuses: the gates are committee numbers, with no built-in default)."""

    def gates(self) -> PromotionSettings:
        """The promotion gates.

        Raises
        ------
        ConfigError
            If the settings hold none (no ``promotion`` section in ``mlflow.yaml``).
        """
        if self.promotion is None:
            raise ConfigError("no promotion gates: mlflow.yaml has no 'promotion' section "
                              f"(set {CONFIG_ENV} to the reviewed file)")
        return self.promotion

    @classmethod
    def local(cls, folder: Path | str, *, registry: RegistrySettings | None = None,
              promotion: PromotionSettings | None = None) -> MlflowSettings:
        """Settings for a private SQLite store in ``folder`` (tests, notebooks).

        Examples
        --------
        >>> import tempfile
        >>> s = MlflowSettings.local(tempfile.mkdtemp())
        >>> s.tracking.uri.endswith("/mlflow.db"), s.tracking.is_local
        (True, True)
        """
        root = Path(folder).resolve()
        tracking = TrackingSettings(uri=f"sqlite:///{root / 'mlflow.db'}",
                                    artifact_root=str(root / "mlruns"))
        registry = (registry or RegistrySettings()).model_copy(
            update={"bundle_cache": str(root / "bundle-cache")})
        if promotion is None:  # the reviewed gates, whatever store the settings point at
            promotion = load_mlflow_settings().promotion
        return cls(tracking=tracking, registry=registry, promotion=promotion)


def default_mlflow_config(environ: Mapping[str, str] | None = None) -> Path | None:
    """Return the settings file to read, or ``None`` to use the built-in defaults.

    ``TECHCREDIT_MLFLOW_CONFIG`` wins; otherwise the ``mlflow.yaml`` at the root of the
    source checkout this package was installed from, when there is one.

    Raises
    ------
    ConfigError
        If ``TECHCREDIT_MLFLOW_CONFIG`` names a file that does not exist.
    """
    env = os.environ if environ is None else environ
    named = env.get(CONFIG_ENV)
    if named:
        path = Path(named)
        if not path.is_file():
            raise ConfigError(f"{CONFIG_ENV}={named!r} is not a file")
        return path
    path = source_root() / "mlflow.yaml"
    return path if path.is_file() else None


def _resolve_uri(uri: str, base: Path) -> str:
    """Make a local SQLite or file URI absolute against ``base``; leave others alone."""
    if uri.startswith("sqlite:///"):
        rest = uri[len("sqlite:///"):]
        if rest.startswith("/") or rest == ":memory:" or rest.startswith(":memory:"):
            return uri
        return f"sqlite:///{(base / rest).resolve()}"
    if uri.startswith("file:") or "://" in uri:
        return uri
    return str((base / uri).resolve())


def _resolve_path(path: str, base: Path) -> str:
    if "://" in path:
        return path
    candidate = Path(path)
    return str(candidate if candidate.is_absolute() else (base / candidate).resolve())


def load_mlflow_settings(path: Path | str | None = None,
                         environ: Mapping[str, str] | None = None) -> MlflowSettings:
    """Read ``mlflow.yaml``, resolve its relative paths and apply the environment.

    Parameters
    ----------
    path : path, optional
        Settings file; :func:`default_mlflow_config` when omitted (built-in defaults
        relative to the working directory when there is no file at all).
    environ : mapping, optional
        Environment to read the overrides from; ``os.environ`` when omitted.

    Returns
    -------
    MlflowSettings
        With absolute local paths, ``MLFLOW_TRACKING_URI`` / ``MLFLOW_REGISTRY_URI``
        applied.

    Raises
    ------
    ConfigError
        If the file is missing, not YAML, or fails validation; the message names the
        file and every bad field.
    """
    env = os.environ if environ is None else environ
    source = Path(path) if path is not None else default_mlflow_config(env)
    if source is None:
        base = Path.cwd()
        settings = MlflowSettings()
    else:
        base = source.resolve().parent
        data = read_yaml(source)
        try:
            settings = MlflowSettings.model_validate(data)
        except ValidationError as exc:
            fields = "; ".join(
                f"{'.'.join(str(p) for p in err['loc']) or '<root>'}: {err['msg']}"
                for err in exc.errors()
            )
            raise ConfigError(f"{source}: {fields}") from exc
    tracking = settings.tracking
    uri = env.get(TRACKING_ENV) or _resolve_uri(tracking.uri, base)
    registry_uri = env.get(REGISTRY_ENV) or (
        _resolve_uri(tracking.registry_uri, base) if tracking.registry_uri else None)
    tracking = tracking.model_copy(update={
        "uri": uri,
        "registry_uri": registry_uri,
        "artifact_root": _resolve_path(tracking.artifact_root, base),
    })
    registry = settings.registry.model_copy(
        update={"bundle_cache": _resolve_path(settings.registry.bundle_cache, base)})
    return settings.model_copy(update={"tracking": tracking, "registry": registry})
