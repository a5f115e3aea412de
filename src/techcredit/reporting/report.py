"""Build the risk-committee report: one self-contained HTML file.

:func:`build_report` gathers the bundle and its data snapshot
(:func:`techcredit.reporting.inputs.gather`), renders every section
(:mod:`techcredit.reporting.sections`) and writes one HTML file whose images are
embedded PNG data URIs and whose CSS is inline: no external URL at all.

Examples
--------
See ``tests/test_report.py`` and ``docs/report.md``; in short::

    >>> from techcredit.data import load_sample
    >>> report = build_report(bundle_dir, load_sample(), output="report.html",
    ...                       data_source="data/sample")          # doctest: +SKIP
    >>> report.sections[0]                                        # doctest: +SKIP
    'identity'
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from pathlib import Path

from techcredit.config.mlflow import PromotionSettings, load_mlflow_settings
from techcredit.config.monitoring import load_monitoring_spec
from techcredit.reporting import sections as sec
from techcredit.reporting._html import page_html
from techcredit.reporting.inputs import ModelIdentity, gather
from techcredit.schemas import RawTables

__all__ = ["SECTION_IDS", "CommitteeReport", "build_report"]

logger = logging.getLogger(__name__)

#: Anchor ids of the sections, in page order.
SECTION_IDS = ("identity", "discrimination", "calibration", "distributions", "stability",
               "scorecards", "shap", "reasons", "innovation", "gates")


@dataclass(frozen=True)
class CommitteeReport:
    """A built report.

    Attributes
    ----------
    html : str
        The whole page.
    path : Path or None
        Where it was written (``None`` when no output was given).
    sections : tuple of str
        Section anchor ids, in order.
    images : int
        Embedded PNG images.
    seconds : float
        Wall time to build.
    snapshot_matches : bool
        Whether the data read was the training snapshot.
    """

    html: str
    path: Path | None
    sections: tuple[str, ...]
    images: int
    seconds: float
    snapshot_matches: bool


def build_report(bundle_dir: Path | str, tables: RawTables, *,
                 identity: ModelIdentity | None = None, data_source: str = "tables given",
                 output: Path | str | None = None,
                 promotion: PromotionSettings | None = None, shap_rows: int = 400,
                 top_reasons: int = 15, bin_plots: int = 8,
                 seed: int = 0) -> CommitteeReport:
    """Render the committee report of a bundle on its data snapshot.

    Parameters
    ----------
    bundle_dir : path
        A bundle folder (verified); for a registered version, the folder
        :func:`techcredit.reporting.mlflow_io.resolve_model` returns.
    tables : RawTables
        The data snapshot the version was trained on (applications with outcomes).
    identity : ModelIdentity, optional
        Registry identity; the bundle's own when omitted.
    data_source : str
        Where ``tables`` came from, printed in the report.
    output : path, optional
        Write the HTML here (parent folders are created).
    promotion : PromotionSettings, optional
        Gates; those of ``mlflow.yaml`` when omitted.
    shap_rows : int
        Validation rows sampled per segment for SHAP.
    top_reasons : int
        Reason codes listed.
    bin_plots : int
        Scorecard characteristics (highest IV first) drawn per segment; every one is
        in the tables.
    seed : int
        Seed of the SHAP row sample.

    Raises
    ------
    ModelError
        The bundle fails verification.
    InvalidInputError
        The tables lack applications or outcomes.
    """
    start = time.perf_counter()
    identity = identity or ModelIdentity.from_bundle(bundle_dir)
    promotion = promotion or load_mlflow_settings().gates()
    bands = load_monitoring_spec().stability
    data = gather(bundle_dir, tables, identity=identity, data_source=data_source)
    parts = [
        sec.identity_section(data),
        sec.discrimination_section(data),
        sec.calibration_section(data),
        sec.distribution_section(data),
        sec.stability_section(data, bands),
        sec.scorecard_section(data, bin_plots),
        sec.shap_section(data, shap_rows, seed),
        sec.reasons_section(data, top_reasons),
        sec.innovation_section(data),
        sec.gates_section(data, promotion),
    ]
    version = f"version {identity.version}" if identity.version else "unregistered bundle"
    title = f"{identity.model_name} {version}: risk-committee report"
    made = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    subtitle = (f"{identity.requested} · bundle {data.manifest['files']['bundle.json'][:12]} · "
                f"data {data.data_source} · made {made}")
    page = page_html(title, subtitle, parts)
    path = None
    if output is not None:
        path = Path(output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(page, encoding="utf-8")
    seconds = time.perf_counter() - start
    logger.info("committee report of %s (%s): %d characters in %.1f s", identity.model_name,
                version, len(page), seconds)
    return CommitteeReport(html=page, path=path, sections=tuple(p.id for p in parts),
                           images=page.count("<img "), seconds=seconds,
                           snapshot_matches=data.snapshot_matches)
