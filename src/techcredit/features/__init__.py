"""Point-in-time feature builders and the feature catalogue.

Examples
--------
>>> from techcredit.features import feature_names
>>> feature_names("tax")[0]
'tax_paid_sum_12m'
"""

from techcredit.features.arrays import FirmArrays
from techcredit.features.catalogue import (
    Feature,
    feature_names,
    monotone_constraints,
    monotonic_trends,
)
from techcredit.features.ip import PatentState, patent_state

__all__ = [
    "Feature",
    "FirmArrays",
    "PatentState",
    "feature_names",
    "monotone_constraints",
    "monotonic_trends",
    "patent_state",
]
