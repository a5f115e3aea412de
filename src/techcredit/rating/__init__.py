"""Innovation rating (nine tiers), official scores and patent valuation.

Public API:

* :func:`rate_firms` / :func:`rate_innovation`: tier, composite, five sub-scores and
  sub-indicator values per firm (``models/innovation_rating.yaml``);
* :func:`high_tech_score` / :func:`tech_sme_score`: the official recognition scores;
* :func:`value_patents` / :func:`portfolio_value`: PVD, money value and pledge value
  per patent and per firm (``models/patent_valuation.yaml``);
* :func:`rating_inputs`: the point-in-time inputs, built from the features' blocks;
* :func:`report_tiers`: tier distribution and default rate per tier.

Examples
--------
>>> from techcredit.data import generate
>>> rated = rate_firms(generate(200, seed=11))
>>> list(rated.columns[:3])
['tier', 'composite', 'stage']
"""

from techcredit.rating._inputs import rating_inputs
from techcredit.rating.innovation import (
    assign_tier,
    firm_stage,
    rate_firms,
    rate_innovation,
    rating_input_columns,
    report_tiers,
)
from techcredit.rating.official import band_points, high_tech_score, tech_sme_score
from techcredit.rating.patents import (
    CitationCohorts,
    portfolio_value,
    score_patents,
    value_patents,
)

__all__ = [
    "CitationCohorts",
    "assign_tier",
    "band_points",
    "firm_stage",
    "high_tech_score",
    "portfolio_value",
    "rate_firms",
    "rate_innovation",
    "rating_input_columns",
    "rating_inputs",
    "report_tiers",
    "score_patents",
    "tech_sme_score",
    "value_patents",
]
