"""The feature catalogue: well-formed entries, helpers, generated docs."""

from __future__ import annotations

from pathlib import Path

import techcredit.features.catalogue as cat

DOCS = Path(__file__).resolve().parents[1] / "docs" / "features.md"


def test_catalogue_entries_are_well_formed():
    feats = cat.catalogue()
    assert len(feats) >= 40
    assert len({f.name for f in feats}) == len(feats)
    assert len({f.reason_code for f in feats}) == len(feats)
    for f in feats:
        assert f.direction in (-1, 0, 1)
        assert f.kind in ("numeric", "ordinal", "boolean")
        assert f.reason_zh
        assert f.reason_en
        assert f.description
        if f.source == "flag":
            assert f.kind == "boolean"
            assert f.direction == 1


def test_helpers():
    names = cat.feature_names()
    trends = cat.monotonic_trends()
    assert list(trends) == list(names)
    assert set(trends.values()) <= {"ascending", "descending", "auto"}
    assert len(cat.monotone_constraints(names)) == len(names)
    assert cat.feature_names("ip")[0].startswith("ip_")


def test_docs_are_up_to_date():
    assert DOCS.read_text(encoding="utf-8") == cat.to_markdown(), (
        "regenerate: python -m techcredit.features --markdown > docs/features.md")
