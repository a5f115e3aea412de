"""models/policy.yaml is validated as a whole: names the engine relies on must be exact."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from techcredit.config import default_models_dir
from techcredit.config.policy import REASON_RULES, load_policy
from techcredit.exceptions import ConfigError


def _with(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "models"
    shutil.copytree(default_models_dir(), folder)
    text = (folder / "policy.yaml").read_text(encoding="utf-8")
    assert old in text
    (folder / "policy.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


def test_the_shipped_policy_has_a_text_for_every_reason_rule() -> None:
    assert set(load_policy().reasons.rule_texts) == set(REASON_RULES)


@pytest.mark.parametrize(("old", "new", "field"), [
    # a misspelt segment silently turned the pledge uplift off for everyone
    ("pledge_segments: [tech_startup, tech_growth]",
     "pledge_segments: [tech_startups, tech_growth]", "limit.pledge_segments"),
    ("discount_segments: [tech_startup, tech_growth]",
     "discount_segments: [tech_startup, tech_grwth]", "rate.discount_segments"),
    # a reason rule without texts failed only when a decision named it (KeyError)
    ("    LIMIT_INVOICE_SALES:", "    LIMIT_INVOICE_SALE:", "reasons"),
    ("innovation_discount_annual: {AAA: 0.0030,", "innovation_discount_annual: {AAAA: 0.0030,",
     "rate"),
])
def test_a_wrong_name_is_refused_naming_its_field(tmp_path: Path, old: str, new: str,
                                                  field: str) -> None:
    with pytest.raises(ConfigError, match=field):
        load_policy(_with(tmp_path, old, new))
