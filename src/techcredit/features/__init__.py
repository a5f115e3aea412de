"""Point-in-time feature builders and the feature catalogue.

Training and serving use the same call, :func:`build_features`:

* training: ``build_features(tables, as_of=apps["applied_on"], firm_ids=apps["firm_id"])``
  (one row per application, each with its own ``as_of``);
* serving: convert the applicant's validated columns once with
  :meth:`FirmArrays.from_columns` (no pandas; ``Application.columns()`` gives them, and
  :meth:`FirmArrays.from_records` takes raw records) and call :func:`build_matrix`
  (one firm runs on the calling thread) or :func:`build_features`.

Nothing dated after ``as_of`` influences a feature. Every feature is described once in
:mod:`techcredit.features.catalogue` (unit, window, risk direction, reason code with
Chinese and English text); ``docs/features.md`` is generated from it.
:func:`patent_state` gives the point-in-time state of each patent.

Examples
--------
>>> from techcredit.features import feature_names, monotone_constraints
>>> feature_names("tax")[0]
'tax_paid_sum_12m'
>>> monotone_constraints(["tax_paid_sum_12m"])
(-1,)
"""

from techcredit.features.arrays import FirmArrays
from techcredit.features.build import FeatureMatrix, build_features, build_matrix
from techcredit.features.catalogue import (
    Feature,
    feature_names,
    monotone_constraints,
    monotonic_trends,
)
from techcredit.features.flags import RULE_IDS
from techcredit.features.invoice import invoice_features
from techcredit.features.ip import PatentState, ip_features, patent_state
from techcredit.features.rnd import rnd_features
from techcredit.features.tax import tax_features

__all__ = [
    "RULE_IDS",
    "Feature",
    "FeatureMatrix",
    "FirmArrays",
    "PatentState",
    "build_features",
    "build_matrix",
    "feature_names",
    "invoice_features",
    "ip_features",
    "monotone_constraints",
    "monotonic_trends",
    "patent_state",
    "rnd_features",
    "tax_features",
]
