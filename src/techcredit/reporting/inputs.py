"""What the committee report reads: a verified bundle, its identity, and its data snapshot.

:func:`gather` rebuilds, from the raw tables the version was trained on, exactly the rows
training used: features at each application date, the segment router, the out-of-time
split of the bundle's own ``specs/validation.yaml`` and, per segment, the champion's and
challenger's calibrated PDs on the validation rows and on the PSI baseline rows. It then
decides the validation applications with the :class:`~techcredit.decision.decider.Decider`
(reason codes, innovation tiers, patent values). The data digest is compared with the
snapshot recorded at training, so the report can say whether its figures are on the
training data.

Examples
--------
See ``tests/test_report.py``; in short::

    >>> data = gather(bundle_dir, tables, identity=ModelIdentity.from_bundle(bundle_dir),
    ...               data_source="data/sample")                  # doctest: +SKIP
    >>> sorted(data.segments)                                     # doctest: +SKIP
    ['micro', 'tech_growth', 'tech_startup']
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import numpy as np
import pandas as pd

from techcredit.config.boosting import load_validation_spec
from techcredit.data.sample import tables_digest
from techcredit.decision.bundle import read_json, verify_bundle
from techcredit.decision.decider import Decider
from techcredit.decision.models import BundleModels, CalibratedModel
from techcredit.exceptions import InvalidInputError
from techcredit.modeling.segments import route
from techcredit.pipeline.train import baseline_rows, split_out_of_time, training_frame
from techcredit.registry.versions import VersionInfo
from techcredit.schemas import RawTables

__all__ = ["ModelIdentity", "ReportData", "SegmentData", "gather"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelIdentity:
    """Which model the report is about: the bundle's own record, or the registry's.

    A registered version carries the registry's record
    (:class:`~techcredit.registry.VersionInfo`) in ``registered``: its version, run,
    aliases, registration time and promotion decision. A bundle folder has none.

    Attributes
    ----------
    model_name : str
    requested : str
        What was asked for (``models:/techcredit@champion`` or a folder).
    data_snapshot_sha256 : str
        Digest of the training tables recorded at training (the version's tag, or the
        bundle manifest of a folder).
    registered : VersionInfo or None
        The registry's record of the version (``None`` for a bundle folder).

    Examples
    --------
    >>> from techcredit.registry import VersionInfo
    >>> info = VersionInfo(model_name="techcredit", version="3", run_id="r1",
    ...                    aliases=("champion",), registered_at=None,
    ...                    data_snapshot_sha256="ab" * 32, promotion=None)
    >>> ident = ModelIdentity.from_version(info, "models:/techcredit@champion")
    >>> ident.version, ident.registered.run_id, ident.registered.aliases
    ('3', 'r1', ('champion',))
    >>> folder = ModelIdentity("techcredit", "bundle/", data_snapshot_sha256="ab" * 32)
    >>> folder.version is None, folder.registered is None
    (True, True)
    """

    model_name: str
    requested: str
    data_snapshot_sha256: str
    registered: VersionInfo | None = None

    @classmethod
    def from_version(cls, info: VersionInfo, requested: str) -> ModelIdentity:
        """Identity of a registered version, as the registry records it."""
        return cls(model_name=info.model_name, requested=requested,
                   data_snapshot_sha256=info.data_snapshot_sha256, registered=info)

    @classmethod
    def from_bundle(cls, bundle_dir: Path | str, requested: str | None = None) -> ModelIdentity:
        """Identity of a bundle folder that is not (known to be) registered."""
        manifest = verify_bundle(bundle_dir)
        doc = read_json(bundle_dir, "bundle.json")
        return cls(model_name=str(doc["model_name"]),
                   requested=requested or str(Path(bundle_dir)),
                   data_snapshot_sha256=str(manifest.get("data_snapshot_sha256", "")))

    @property
    def version(self) -> str | None:
        """Registry version (``None`` for a bundle folder)."""
        return self.registered.version if self.registered else None


@dataclass(frozen=True)
class SegmentData:
    """One segment's validation rows and PDs."""

    segment: str
    champion: str
    challenger: str | None
    y: np.ndarray
    """Outcomes of the segment's validation rows."""
    features: pd.DataFrame
    """Feature rows of the validation applications."""
    prob: dict[str, np.ndarray]
    """Calibrated PD of each model kind on the validation rows."""
    baseline_prob: dict[str, np.ndarray]
    """Calibrated PD on the rows training used as the PSI baseline."""
    models: dict[str, CalibratedModel]


@dataclass(frozen=True)
class ReportData:
    """Everything the report draws from (see :func:`gather`)."""

    bundle_dir: Path
    identity: ModelIdentity
    manifest: dict[str, Any]
    validation: dict[str, Any]
    data_source: str
    data_digest: str
    applied_on: pd.Series
    """Application date of every snapshot application (index: application id)."""
    part: np.ndarray
    """``fit`` / ``calibrate`` / ``validate`` per application."""
    y: np.ndarray
    segments: dict[str, SegmentData]
    decisions: pd.DataFrame
    """``Decider.score_batch`` frame of the validation applications, plus ``default_12m``."""
    max_reasons: int
    """Most reasons a decision carries (``reasons.max_reasons`` of the bundle's policy)."""
    deciles: int
    """Groups of the calibration table (``calibration.deciles`` of the bundle's
    ``specs/validation.yaml``)."""

    @property
    def snapshot_matches(self) -> bool:
        """Whether the data digest equals the snapshot recorded at training."""
        return self.data_digest == self.identity.data_snapshot_sha256


def _models_of(bundle: BundleModels, seg: str) -> dict[str, CalibratedModel]:
    entry = bundle.segments[seg]
    found = {entry.champion.kind: entry.champion}
    if entry.challenger is not None:
        found[entry.challenger.kind] = entry.challenger
    return found


def gather(bundle_dir: Path | str, tables: RawTables, *, identity: ModelIdentity,
           data_source: str) -> ReportData:
    """Rebuild the training rows of ``tables`` and score them with the bundle's models.

    Parameters
    ----------
    bundle_dir : path
        A bundle folder; it is verified.
    tables : RawTables
        The data snapshot, with ``applications`` and ``default_12m``.
    identity : ModelIdentity
    data_source : str
        Where ``tables`` came from, printed in the report.

    Raises
    ------
    InvalidInputError
        If ``tables`` lacks applications or outcomes.
    ModelError
        If the bundle fails verification.
    """
    root = Path(bundle_dir)
    decider = Decider.load(root)
    models = decider.models
    validation = read_json(root, "validation.json")
    spec = load_validation_spec(root / "specs")
    X, y, applied = training_frame(tables)  # noqa: N806
    segment = route(X, models.router)
    part = split_out_of_time(applied, spec.split.validation_share,
                             spec.split.calibration_share)
    # Bundles written before the scheme was recorded were calibrated on a holdout.
    scheme = str(validation.get("calibration_scheme", "holdout"))
    segments: dict[str, SegmentData] = {}
    for seg, entry in validation["segments"].items():
        val = (segment == seg) & (part == "validate")
        base = baseline_rows(segment, part, seg, scheme)
        kinds = _models_of(models, seg)
        segments[seg] = SegmentData(
            segment=seg, champion=entry["champion"], challenger=entry.get("challenger"),
            y=y[val], features=X[val],
            prob={k: m.prob_default(X[val]) for k, m in kinds.items()},
            baseline_prob={k: m.prob_default(X[base]) for k, m in kinds.items()},
            models=kinds)
    decisions = _decide(decider, tables, part == "validate")
    return ReportData(
        bundle_dir=root, identity=identity, manifest=models.manifest, validation=validation,
        data_source=data_source, data_digest=tables_digest(tables),
        applied_on=pd.Series(applied, index=X.index), part=part, y=y, segments=segments,
        decisions=decisions, max_reasons=decider.policy.reasons.max_reasons,
        deciles=spec.calibration.deciles)


def _decide(decider: Decider, tables: RawTables, rows: np.ndarray) -> pd.DataFrame:
    """Decide the chosen applications through the serving engine.

    ``tables.applications`` is present: :func:`training_frame` raised otherwise.
    """
    if not rows.any():
        raise InvalidInputError([("applications", None, None,
                                  "the report needs validation applications to decide")])
    chosen = cast(pd.DataFrame, tables.applications).loc[rows].reset_index(drop=True)
    frame = cast(pd.DataFrame,
                 decider.score_batch(dataclasses.replace(tables, applications=chosen)))
    frame["default_12m"] = chosen["default_12m"].to_numpy(dtype=np.int64)
    return frame
