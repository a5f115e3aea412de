"""Pydantic model of ``models/segments.yaml``: the segment router's rules.

Examples
--------
>>> spec = load_segment_spec()
>>> spec.tech_if_any[0].feature
'rnd_hightech_valid_now'
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator

from techcredit.config._base import Condition, StrictModel, load_spec

__all__ = ["SEGMENTS", "Condition", "SegmentSpec", "load_segment_spec"]

SEGMENTS = ("micro", "tech_startup", "tech_growth")
Segment = Literal["micro", "tech_startup", "tech_growth"]


class SegmentSpec(StrictModel):
    """``models/segments.yaml``."""

    version: int
    tech_if_any: tuple[Condition, ...] = Field(min_length=1)
    startup_if_any: tuple[Condition, ...] = Field(min_length=1)
    min_train_rows: int = Field(ge=1)
    min_train_defaults: int = Field(ge=1)
    fallback: dict[Segment, Segment]

    @model_validator(mode="after")
    def _no_self_fallback(self) -> SegmentSpec:
        for seg, other in self.fallback.items():
            if seg == other:
                raise ValueError(f"fallback.{seg} must name another segment")
        return self

    def features(self) -> list[str]:
        """Feature names the router reads."""
        return sorted({c.feature for c in (*self.tech_if_any, *self.startup_if_any)})


def load_segment_spec(models_dir: Path | str | None = None) -> SegmentSpec:
    """Load and validate ``segments.yaml``."""
    return load_spec("segments", SegmentSpec, models_dir)
