"""The alert frame shared by early warnings and pledge events, and its summary.

One row per alert: ``as_of``, ``loan_id``, ``firm_id``, ``patent_id`` (missing for
firm-level rules), ``rule_id``, ``level`` (``severe`` / ``warning`` / ``watch`` /
``notice``), ``level_zh``, ``text_zh``, ``text_en``, ``observed`` and ``threshold``.

Examples
--------
>>> from techcredit.config.monitoring import load_monitoring_spec
>>> spec = load_monitoring_spec()
>>> rule = spec.early_warnings[0]
>>> frame = alert_frame([alert_row(rule, spec, as_of="2026-03-31", loan_id=1, firm_id=7,
...                                observed=1.0, threshold=1.0)])
>>> frame[["loan_id", "rule_id", "level", "level_zh"]].to_dict("records")
[{'loan_id': 1, 'rule_id': 'ABNORMAL_TAXPAYER', 'level': 'severe', 'level_zh': '严重警告'}]
>>> summarize_alerts(frame)[["level", "rule_id", "alerts", "loans"]].to_dict("records")
[{'level': 'severe', 'rule_id': 'ABNORMAL_TAXPAYER', 'alerts': 1, 'loans': 1}]
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from techcredit.config.monitoring import LEVELS, AlertRule, MonitoringSpec

__all__ = ["ALERT_COLUMNS", "alert_frame", "alert_row", "at_least", "summarize_alerts"]

ALERT_COLUMNS: tuple[str, ...] = (
    "as_of", "loan_id", "firm_id", "patent_id", "rule_id", "level", "level_zh",
    "text_zh", "text_en", "observed", "threshold")
_LEVEL_TYPE = pd.CategoricalDtype(list(LEVELS), ordered=True)


def alert_row(rule: AlertRule, spec: MonitoringSpec, *, as_of: object, loan_id: int,
              firm_id: int, observed: float, threshold: float,
              patent_id: int | None = None) -> dict[str, Any]:
    """One alert as a mapping with every column of :data:`ALERT_COLUMNS`."""
    return {"as_of": pd.Timestamp(as_of), "loan_id": int(loan_id), "firm_id": int(firm_id),
            "patent_id": patent_id, "rule_id": rule.id, "level": rule.level,
            "level_zh": spec.levels[rule.level], "text_zh": rule.zh, "text_en": rule.en,
            "observed": float(observed), "threshold": float(threshold)}


def alert_frame(rows: Iterable[Mapping[str, Any]]) -> pd.DataFrame:
    """Alerts as a typed frame, most serious first, then by loan, rule and patent."""
    frame = pd.DataFrame.from_records(list(rows), columns=list(ALERT_COLUMNS))
    frame = frame.astype({"loan_id": "int64", "firm_id": "int64", "patent_id": "Int64",
                          "rule_id": "str", "observed": "float64", "threshold": "float64"})
    frame["as_of"] = pd.to_datetime(frame["as_of"]).astype("datetime64[ns]")
    frame["level"] = frame["level"].astype(_LEVEL_TYPE)
    frame = frame.sort_values(["level", "loan_id", "rule_id", "patent_id"], kind="stable")
    return frame.reset_index(drop=True)


def at_least(alerts: pd.DataFrame, level: str) -> pd.DataFrame:
    """Alerts at ``level`` or more serious (``at_least(a, "warning")``: severe + warning)."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {list(LEVELS)}, got {level!r}")
    rank = np.asarray(alerts["level"].astype(_LEVEL_TYPE).cat.codes)
    return alerts[rank <= LEVELS.index(level)]


def summarize_alerts(alerts: pd.DataFrame) -> pd.DataFrame:
    """Alerts and distinct loans per (level, rule), most serious level first."""
    if alerts.empty:
        return pd.DataFrame({"level": pd.Series(dtype=_LEVEL_TYPE),
                             "level_zh": pd.Series(dtype=object),
                             "rule_id": pd.Series(dtype=object),
                             "alerts": pd.Series(dtype="int64"),
                             "loans": pd.Series(dtype="int64")})
    g = alerts.groupby(["level", "level_zh", "rule_id"], observed=True, sort=True)
    out = g.agg(alerts=("loan_id", "size"), loans=("loan_id", "nunique")).reset_index()
    return out.astype({"alerts": "int64", "loans": "int64"})
