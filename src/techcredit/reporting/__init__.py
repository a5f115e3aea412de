"""The risk-committee report; the only place for matplotlib and shap plots.

- :func:`build_report`: one self-contained HTML file (embedded PNGs, inline CSS) from a
  bundle folder and the data snapshot it was trained on.
- :func:`resolve_model`: a ``models:/`` URI -> verified bundle folder and
  :class:`ModelIdentity` (version, aliases, run, recorded snapshot).
- :func:`log_report`: log the file as an artifact of the version's training run.

``techcredit report --model models:/techcredit@champion`` does all three; see
``docs/report.md``.
"""

from techcredit.reporting.inputs import ModelIdentity
from techcredit.reporting.mlflow_io import log_report, resolve_model
from techcredit.reporting.report import SECTION_IDS, CommitteeReport, build_report

__all__ = ["SECTION_IDS", "CommitteeReport", "ModelIdentity", "build_report", "log_report",
           "resolve_model"]
