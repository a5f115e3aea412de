"""Statutory terms used by the builders, read once from ``legal_terms.yaml``.

These are law (patent terms, certificate validity, the monthly filing deadline), not
committee defaults, so they live next to the code that applies them rather than under
``models/``; they are still data, not literals in Python.

Examples
--------
>>> terms = legal_terms()
>>> terms.patent_term_years["invention"]
20
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field

from techcredit.config import StrictModel, read_yaml
from techcredit.exceptions import ConfigError

__all__ = ["LegalTerms", "legal_terms"]

_PATH = Path(__file__).with_name("legal_terms.yaml")

Years = Annotated[int, Field(ge=1, le=100)]


class LegalTerms(StrictModel):
    """Schema of ``legal_terms.yaml``."""

    patent_term_years: dict[str, Years]
    ip_class: dict[str, Annotated[int, Field(ge=1, le=2)]]
    qualification_valid_years: dict[str, Years]
    vat_filing_deadline_day: Annotated[int, Field(ge=1, le=28)]


_KINDS = ("invention", "utility", "design", "software_copyright")
_QUALIFICATIONS = ("high_tech", "tech_sme", "specialized")


@lru_cache(maxsize=1)
def legal_terms() -> LegalTerms:
    """Return the validated statutory terms (cached)."""
    try:
        terms = LegalTerms.model_validate(read_yaml(_PATH))
    except ValueError as exc:  # pydantic ValidationError is a ValueError
        raise ConfigError(f"{_PATH}: {exc}") from exc
    missing = [k for k in _KINDS if k not in terms.patent_term_years]
    missing += [f"ip_class.{k}" for k in _KINDS if k not in terms.ip_class]
    missing += [q for q in _QUALIFICATIONS if q not in terms.qualification_valid_years]
    if missing:
        raise ConfigError(f"{_PATH}: missing entries {missing}")
    return terms
