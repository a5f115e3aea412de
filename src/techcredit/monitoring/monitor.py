"""One call for the post-loan team: early warnings and pledge events of a portfolio.

Examples
--------
>>> import datetime as dt
>>> from techcredit.data import generate
>>> from techcredit.monitoring.scenarios import build_scenario
>>> tables = generate(400, seed=3, first_application=dt.date(2025, 1, 1),
...                   last_application=dt.date(2025, 3, 31))
>>> s = build_scenario(tables, as_of="2026-03-31", plants=("tax_collapse", "patent_lapse"))
>>> alerts = monitor(s.tables, s.portfolio, s.as_of)
>>> sorted(alerts["rule_id"])
['PLEDGE_LAPSED', 'TAX_PAID_COLLAPSE']
>>> monitor(s.stable_tables, s.stable_portfolio, s.as_of).empty
True
"""

from __future__ import annotations

import pandas as pd

from techcredit.config.monitoring import MonitoringSpec, load_monitoring_spec
from techcredit.monitoring.alerts import alert_frame
from techcredit.monitoring.pledges import pledge_alerts
from techcredit.monitoring.portfolio import Portfolio
from techcredit.monitoring.warnings import early_warnings
from techcredit.rating import CitationCohorts
from techcredit.schemas import RawTables

__all__ = ["monitor"]


def monitor(tables: RawTables, portfolio: Portfolio, as_of: object, *,
            spec: MonitoringSpec | None = None,
            cohorts: CitationCohorts | None = None) -> pd.DataFrame:
    """Every alert of the loans active at ``as_of``, most serious first.

    See :func:`~techcredit.monitoring.warnings.early_warnings` and
    :func:`~techcredit.monitoring.pledges.pledge_alerts` for the parameters.
    """
    spec = spec or load_monitoring_spec()
    parts = [early_warnings(tables, portfolio, as_of, spec=spec),
             pledge_alerts(tables, portfolio, as_of, spec=spec, cohorts=cohorts)]
    return alert_frame(pd.concat(parts, ignore_index=True).to_dict("records"))
