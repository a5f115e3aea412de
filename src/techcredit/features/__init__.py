"""Point-in-time feature builders and the feature catalogue.

Examples
--------
>>> from techcredit.features import feature_names
>>> feature_names("tax")[0]
'tax_paid_sum_12m'
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
