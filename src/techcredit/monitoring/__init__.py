"""Monitoring: PSI/CSI drift, post-loan early warnings, IP-pledge events.

* :class:`StabilityReference`: binned training distributions (fitted, or read from a
  bundle's ``reference/stability.json``); ``compare`` gives PSI / CSI with bands;
* :class:`Portfolio`: validated loans and pledges;
* :func:`monitor`: every alert of the active loans at a date, from
  :func:`early_warnings` (firm now vs at booking) and :func:`pledge_alerts`
  (events on pledged patents); :func:`summarize_alerts` counts them per level and rule;
* :func:`build_scenario`: a booked portfolio with stable and planted futures.

Rules, levels (严重警告 / 警告 / 关注 / 提示) and bands live in ``models/monitoring.yaml``.

Examples
--------
>>> from techcredit.monitoring import LEVELS
>>> LEVELS
('severe', 'warning', 'watch', 'notice')
"""

from techcredit.config.monitoring import LEVELS
from techcredit.monitoring.alerts import ALERT_COLUMNS, at_least, summarize_alerts
from techcredit.monitoring.monitor import monitor
from techcredit.monitoring.pledges import pledge_alerts, pledge_states
from techcredit.monitoring.portfolio import LoanRecord, PledgeRecord, Portfolio
from techcredit.monitoring.scenarios import PLANTS, Scenario, book_portfolio, build_scenario
from techcredit.monitoring.stability import StabilityReference, psi_from_shares
from techcredit.monitoring.warnings import early_warnings, firm_states

__all__ = [
    "ALERT_COLUMNS",
    "LEVELS",
    "PLANTS",
    "LoanRecord",
    "PledgeRecord",
    "Portfolio",
    "Scenario",
    "StabilityReference",
    "at_least",
    "book_portfolio",
    "build_scenario",
    "early_warnings",
    "firm_states",
    "monitor",
    "pledge_alerts",
    "pledge_states",
    "psi_from_shares",
    "summarize_alerts",
]
