"""The sections of the committee report, one function each, from :class:`ReportData`.

Each function returns a :class:`~techcredit.reporting._html.Section` with a heading, a
caption a committee member can read without the code, and tables and figures. Numbers
the training job stored (``validation.json``) are shown as stored; what the report adds
(DeLong intervals, deciles, PSI bins, SHAP, decisions) is computed here from the bundle's
models on the data snapshot.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd

from techcredit.config.mlflow import PromotionSettings
from techcredit.config.monitoring import StabilitySpec
from techcredit.config.rating import TIER_NAMES
from techcredit.decision.bundle import file_sha256
from techcredit.modeling import metrics
from techcredit.modeling.boosting import BoostedModel
from techcredit.modeling.scorecard import Scorecard
from techcredit.monitoring.stability import band
from techcredit.registry.promotion import evaluate_gates
from techcredit.reporting import figures
from techcredit.reporting._html import Section, esc, image_html, panels_html, table_html
from techcredit.reporting.inputs import ReportData, SegmentData
from techcredit.reporting.stats import delong_ci, gini_interval

__all__ = [
    "calibration_section",
    "discrimination_section",
    "distribution_section",
    "gates_section",
    "identity_section",
    "innovation_section",
    "reasons_section",
    "scorecard_section",
    "shap_section",
    "stability_section",
]


def _h3(text: str) -> str:
    return f"<h3>{esc(text)}</h3>"


def _window(data: ReportData, part: str) -> dict[str, object]:
    rows = data.part == part
    dates = data.applied_on[rows]
    return {"window": part, "applications": rows.sum(), "defaults": data.y[rows].sum(),
            "first applied_on": str(pd.Timestamp(dates.min()).date()) if rows.any() else "",
            "last applied_on": str(pd.Timestamp(dates.max()).date()) if rows.any() else ""}


def identity_section(data: ReportData) -> Section:
    """Model name, version, aliases, run, bundle digests, versions; the data snapshot."""
    ident = data.identity
    reg = ident.registered
    versions = data.manifest.get("versions", {})
    rows: list[dict[str, object]] = [
        {"item": "model", "value": ident.model_name},
        {"item": "requested", "value": ident.requested},
        {"item": "registry version", "value": reg.version if reg else
         "not registered (bundle folder)"},
        {"item": "aliases", "value": (", ".join(reg.aliases) if reg else "") or "–"},
        {"item": "training run id", "value": reg.run_id if reg else "–"},
        {"item": "registered at", "value": (reg.registered_at if reg else None) or "–"},
        {"item": "bundle created at", "value": data.manifest.get("created_at", "–")},
        {"item": "bundle digest (sha256 of bundle.json)",
         "value": data.manifest["files"]["bundle.json"]},
        {"item": "manifest sha256", "value": file_sha256(data.bundle_dir / "manifest.json")},
        {"item": "specifications sha256", "value": data.manifest.get("specs_sha256", "–")},
        {"item": "techcredit version", "value": versions.get("techcredit", "–")},
        {"item": "libraries", "value": ", ".join(f"{k} {v}" for k, v in sorted(versions.items())
                                                 if k != "techcredit")},
        {"item": "promotion record", "value": (reg.promotion if reg else None) or "–"},
    ]
    match = data.snapshot_matches
    snapshot = [
        {"item": "trained on snapshot (sha256)", "value": ident.data_snapshot_sha256 or "–"},
        {"item": "data read for this report", "value": data.data_source},
        {"item": "its digest (sha256)", "value": data.data_digest},
        {"item": "same as the training snapshot", "value": "yes" if match else "NO"},
    ]
    body = table_html(rows) + _h3("Data snapshot") + table_html(snapshot)
    if not match:
        body += ('<p class="warn">The data read for this report is not the snapshot the '
                 "model was trained on: the windows below and every figure are computed on "
                 "other data and will differ from the stored validation numbers.</p>")
    body += _h3("Out-of-time windows of the data") + table_html(
        [_window(data, p) for p in ("fit", "calibrate", "validate")])
    seg_rows = [{"segment": seg, "champion": e["champion"], "challenger": e.get("challenger"),
                 "trained on": " + ".join(e.get("trained_on", [seg])),
                 "fit rows": e.get("n_fit"), "calibration rows": e.get("n_calibrate"),
                 "validation rows": e.get("n_validation")}
                for seg, e in data.validation["segments"].items()]
    body += _h3("Rows per segment (validation.json)") + table_html(seg_rows)
    return Section("identity", "Model identity and data snapshot",
                   "Which model this is, where it is registered, what it was trained on, and "
                   "whether the data read for this report is that same training snapshot "
                   "(compared by sha256 digest of the tables). The newest applications "
                   "validate; older ones fit and calibrate the models.", body)


def _discrimination_row(seg: SegmentData, kind: str, stored: dict[str, Any]) -> dict[str, object]:
    delong = delong_ci(seg.y, seg.prob[kind])
    g_low, g_high = gini_interval(stored["auc_low"], stored["auc_high"])
    role = "champion" if kind == seg.champion else "challenger"
    return {
        "segment": seg.segment, "model": f"{kind} ({role})",
        "validation rows": len(seg.y), "defaults": seg.y.sum(),
        "AUC": stored["auc"],
        "AUC 95% bootstrap": f"{stored['auc_low']:.3f} – {stored['auc_high']:.3f}",
        "AUC 95% DeLong": f"{delong.lower:.3f} – {delong.upper:.3f}",
        "KS": stored["ks"],
        "KS 95% bootstrap": f"{stored['ks_low']:.3f} – {stored['ks_high']:.3f}",
        "Gini": stored["gini"], "Gini 95% (from AUC bootstrap)": f"{g_low:.3f} – {g_high:.3f}",
        "AUC recomputed": delong.estimate,
    }


def discrimination_section(data: ReportData) -> Section:
    """AUC, KS and Gini per segment and model, with intervals."""
    rows = []
    for seg in data.segments.values():
        stored = data.validation["segments"][seg.segment]["models"]
        rows.extend(_discrimination_row(seg, kind, stored[kind])
                    for kind in (seg.champion, seg.challenger) if kind in seg.prob)
    return Section("discrimination", "Discrimination per segment",
                   "How well each model ranks defaulters above non-defaulters on the "
                   "out-of-time validation applications. AUC, KS, Gini and the bootstrap "
                   "intervals are those stored at training (validation.json); the DeLong "
                   "interval and 'AUC recomputed' are computed now from the bundle on the "
                   "data snapshot (equal to the stored AUC when the snapshot matches).",
                   table_html(rows, floats="{:.3f}"))


def calibration_section(data: ReportData) -> Section:
    """Predicted vs observed default rate by decile, with 95% Wilson intervals."""
    deciles = data.deciles
    body = []
    for seg in data.segments.values():
        if len(seg.y) < deciles:
            body.append(f"<p>{esc(seg.segment)}: fewer validation rows than deciles.</p>")
            continue
        table = metrics.calibration_by_decile(seg.y, seg.prob[seg.champion], n_groups=deciles)
        other = (metrics.calibration_by_decile(seg.y, seg.prob[seg.challenger],
                                               n_groups=deciles)
                 if seg.challenger in seg.prob else None)
        stored = data.validation["segments"][seg.segment]["models"][seg.champion]
        body.append(_h3(f"{seg.segment}: champion {seg.champion}")
                    + image_html(figures.calibration_png(table, f"{seg.segment} calibration",
                                                         other), f"calibration {seg.segment}")
                    + f"<p>Largest decile gap {stored['calibration_error']:.4f}; beyond "
                    f"1.96 binomial standard errors: {stored['calibration_excess']:.4f} "
                    f"(validation.json).</p>")
    return Section("calibration", "Calibration per segment",
                   f"Validation applications sorted by predicted PD and cut into {deciles} "
                   "equal groups: each point is a group's mean predicted PD against its "
                   "observed default rate, with a 95% Wilson interval. Points near the "
                   "diagonal mean the PDs can be used as probabilities.", panels_html(body))


def distribution_section(data: ReportData) -> Section:
    """Predicted PD of goods vs bads per segment (champion)."""
    body = []
    for seg in data.segments.values():
        body.append(_h3(f"{seg.segment}: champion {seg.champion}") + image_html(
            figures.score_distribution_png(seg.y, seg.prob[seg.champion],
                                           f"{seg.segment}: predicted PD, goods vs bads"),
            f"score distribution {seg.segment}"))
    return Section("distributions", "Score distributions: goods vs bads",
                   "The champion's predicted PD on validation applications that did and did "
                   "not default within 12 months. The less the two histograms overlap, the "
                   "better the model separates them.", panels_html(body))


def stability_section(data: ReportData, bands: StabilitySpec) -> Section:
    """PSI of the champion PD between the training baseline and validation."""
    rows, body = [], []
    for seg in data.segments.values():
        tables = {kind: metrics.psi_table(seg.baseline_prob[kind], seg.prob[kind])
                  for kind in seg.prob}
        for kind, table in tables.items():
            value = float(table["psi"].sum())
            stored = data.validation["segments"][seg.segment]["models"][kind]
            rows.append({"segment": seg.segment, "model": kind,
                         "training rows": len(seg.baseline_prob[kind]),
                         "validation rows": len(seg.prob[kind]),
                         "PSI stored": stored.get("psi", float("nan")),
                         "PSI beyond sampling noise (stored)": stored.get("psi_excess",
                                                                          float("nan")),
                         "PSI recomputed": value, "band": band(value, bands)})
        body.append(_h3(f"{seg.segment}: champion {seg.champion}") + image_html(
            figures.psi_png(tables[seg.champion],
                            f"{seg.segment}: PD bins, training vs validation"),
            f"psi {seg.segment}"))
    return Section("stability", "Population stability (PSI) training vs validation",
                   "Population stability index of each model's PD: the training rows' PD "
                   "deciles are the bins, validation shares are compared with training shares. "
                   f"Bands of models/monitoring.yaml: below {bands.watch_min} stable, up to "
                   f"{bands.shift_min} watch, above it a shift. 'Beyond sampling noise' is "
                   "what the promotion gate reads, when training stored it.",
                   table_html(rows) + panels_html(body))


_BIN_COLUMNS = ["feature", "bin", "count", "event", "event_rate", "woe", "points"]


def scorecard_section(data: ReportData, plotted: int) -> Section:
    """Per segment: the scorecard's features, bins and points; bin plots of the top IVs."""
    body = []
    for seg in data.segments.values():
        model = seg.models.get("scorecard")
        if model is None or not isinstance(model.model, Scorecard):
            continue
        card = model.model
        role = "champion" if seg.champion == "scorecard" else "challenger"
        body.append(_h3(f"{seg.segment}: scorecard ({role})"))
        features = card.table("feature")[["feature", "n_bins", "iv", "coef", "p_value",
                                          "points_min", "points_max"]]
        body.append(table_html(features.to_dict("records"), floats="{:.3f}"))
        bins = card.table()
        top = list(features.sort_values("iv", ascending=False)["feature"][:plotted])
        body.append(image_html(figures.bin_plots_png(
            bins[bins["feature"].isin(top)], f"{seg.segment}: the {len(top)} features of "
            "highest IV"), f"bins {seg.segment}"))
        body.append("<details><summary>bins, counts, event rate, WOE and points</summary>"
                    + table_html(bins[_BIN_COLUMNS].to_dict("records"), floats="{:.3f}")
                    + "</details>")
    return Section("scorecards", "Scorecard tables and bins",
                   "Each scorecard characteristic with its information value (IV), "
                   "coefficient and points range; the bin plots (the characteristics of "
                   "highest IV) show each bin's training count (bars) and default rate "
                   "(line); the bin table (click to open) gives "
                   "counts, event rate, weight of evidence and points per bin.", "".join(body))


def shap_section(data: ReportData, sample_rows: int, seed: int) -> Section:
    """SHAP beeswarm of each segment's XGBoost model on sampled validation rows."""
    body = []
    rng = np.random.default_rng(seed)
    for seg in data.segments.values():
        model = seg.models.get("xgboost")
        if model is None or not isinstance(model.model, BoostedModel) or len(seg.features) == 0:
            continue
        rows = seg.features[model.feature_names]
        if len(rows) > sample_rows:
            rows = rows.iloc[np.sort(rng.choice(len(rows), sample_rows, replace=False))]
        contributions = model.model.contributions_array(rows)  # bias (base value) last
        role = "champion" if seg.champion == "xgboost" else "challenger"
        body.append(_h3(f"{seg.segment}: XGBoost ({role}), {len(rows):,} validation rows")
                    + image_html(figures.shap_summary_png(
                        contributions[:, :-1], rows, float(contributions[0, -1]),
                        f"{seg.segment}: SHAP values (log-odds)"), f"shap {seg.segment}"))
    return Section("shap", "XGBoost SHAP summaries",
                   "For each segment's XGBoost model, SHAP (exact TreeSHAP, as the engine "
                   "computes it) "
                   "attributes each sampled validation application's log-odds to its features. "
                   "Features are ordered by mean absolute effect; colour is the feature value "
                   "(red high); points right of zero raise the PD. Values are the model's raw "
                   "log-odds, before calibration.", panels_html(body))


def reasons_section(data: ReportData, top: int) -> Section:
    """Top reason codes given on the validation applications' decisions."""
    frame = data.decisions
    counts: Counter[str] = Counter()
    texts: dict[str, tuple[str, str]] = {}
    for codes, zh, en in zip(frame["reason_codes"], frame["reason_texts_zh"],
                             frame["reason_texts_en"], strict=True):
        for code, text_zh, text_en in zip(codes, zh, en, strict=True):
            counts[code] += 1
            texts.setdefault(code, (text_zh, text_en))
    with_reasons = int(sum(1 for r in frame["reason_codes"] if r))
    ranked = counts.most_common(top)
    rows = [{"code": code, "中文": texts[code][0], "English": texts[code][1],
             "decisions": n, "share of decisions with reasons": n / max(with_reasons, 1)}
            for code, n in ranked]
    outcomes = frame["outcome"].value_counts()
    body = (f"<p>{len(frame):,} validation applications decided: "
            + ", ".join(f"{k} {int(v):,}" for k, v in outcomes.items())
            + f"; {with_reasons:,} decisions carry reasons.</p>")
    if ranked:
        body += image_html(figures.reason_codes_png([c for c, _ in ranked],
                                                    [n for _, n in ranked],
                                                    f"top {len(ranked)} reason codes"),
                           "reason codes")
    body += table_html(rows, floats="{:.1%}")
    return Section("reasons", "Top reason codes",
                   "The validation applications were decided by the serving engine (Decider) "
                   f"with this bundle. Declines, refers and reduced limits carry up to "
                   f"{data.max_reasons} principal reasons (the bundle's policy); the table "
                   "counts how often each reason code was given, "
                   "with its Chinese and English text as the applicant would see it.", body)


def innovation_section(data: ReportData) -> Section:
    """Innovation-tier and patent-value distributions of the decided applications."""
    frame = data.decisions
    rows, counts, rates = [], [], []
    for tier in TIER_NAMES:
        part = frame[frame["innovation_tier"] == tier]
        rate = float(part["default_12m"].mean()) if len(part) else float("nan")
        counts.append(len(part))
        rates.append(rate)
        rows.append({"tier": tier, "applications": len(part),
                     "share": len(part) / max(len(frame), 1), "observed default rate": rate,
                     "approved": (part["outcome"] == "approve").sum()})
    value = frame["patent_value_cny"].to_numpy(dtype=np.float64)
    pledge = frame["pledge_value_cny"].to_numpy(dtype=np.float64)
    quant = [{"measure": name, "with value > 0": (v > 0).sum(),
              **{f"p{q}": float(np.quantile(v[v > 0], q / 100)) if (v > 0).any() else
                 float("nan") for q in (10, 50, 90)}}
             for name, v in (("patent value (CNY)", value), ("pledge value (CNY)", pledge))]
    body = (image_html(figures.tier_png(TIER_NAMES, counts, rates, "innovation tiers"),
                       "innovation tiers")
            + table_html(rows, floats="{:.3f}")
            + image_html(figures.patent_value_png(value, "patent value"), "patent value")
            + table_html(quant, floats="{:,.0f}"))
    return Section("innovation", "Innovation tiers and patent values",
                   "The nine-tier innovation rating (AAA best) and the patent valuation of the "
                   "decided validation applications, with each tier's observed default rate. "
                   "Patent value is the appraised value of the firm's rights; pledge value is "
                   "what the policy lends against them.", body)


def gates_section(data: ReportData, promotion: PromotionSettings) -> Section:
    """The promotion gates of mlflow.yaml on validation.json, per segment."""
    gates = evaluate_gates(data.validation, promotion)
    rows = [{"segment": g.segment, "champion": g.model, "gate": g.gate,
             "value": g.value if g.value is not None else float("nan"),
             "limit": g.limit, "result": "pass" if g.passed else "FAIL"} for g in gates]
    verdict = ("every gate passes" if all(g.passed for g in gates) else
               "failed: " + ", ".join(f"{g.segment}.{g.gate}" for g in gates if not g.passed))
    reg = data.identity.registered
    recorded = reg.promotion if reg else None
    extra = ""
    if recorded:
        doc = json.loads(recorded)
        extra = (f"<p>Recorded at promotion ({esc(doc.get('evaluated_at', '?'))}): "
                 f"{'promoted' if doc.get('promoted') else 'not promoted'}.</p>")
    return Section("gates", "Promotion gates",
                   "The gates of mlflow.yaml (promotion) applied to each segment's champion "
                   f"metrics in validation.json, as `techcredit promote` does: {verdict}.",
                   table_html(rows, classes=["pass" if g.passed else "fail" for g in gates])
                   + extra)
