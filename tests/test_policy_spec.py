"""models/policy.yaml is validated as a whole: names the engine relies on must be exact."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from techcredit.config import default_models_dir
from techcredit.config.policy import load_policy
from techcredit.exceptions import ConfigError


def _with(tmp_path: Path, old: str, new: str) -> Path:
    folder = tmp_path / "models"
    shutil.copytree(default_models_dir(), folder)
    text = (folder / "policy.yaml").read_text(encoding="utf-8")
    assert old in text
    (folder / "policy.yaml").write_text(text.replace(old, new, 1), encoding="utf-8")
    return folder


CJK = re.compile(r"[\u4e00-\u9fff]")


def test_the_shipped_reason_texts_are_distinct_chinese_and_english() -> None:
    # The validator guarantees a text per rule; this is about what the texts say.
    texts = load_policy().reasons.rule_texts
    for rule, text in texts.items():
        assert CJK.search(text.zh), (rule, text.zh)
        assert text.en.isascii(), (rule, text.en)
        assert text.en[0].isupper(), (rule, text.en)
        assert text.zh == text.zh.strip(), rule
        assert text.en == text.en.strip(), rule
    assert len({t.zh for t in texts.values()}) == len(texts)
    assert len({t.en for t in texts.values()}) == len(texts)


@pytest.mark.parametrize(("old", "new", "field", "detail"), [
    # a misspelt segment silently turned the pledge uplift off for everyone
    ("pledge_segments: [tech_startup, tech_growth]",
     "pledge_segments: [tech_startups, tech_growth]", "limit.pledge_segments", "'tech_startup'"),
    ("discount_segments: [tech_startup, tech_growth]",
     "discount_segments: [tech_startup, tech_grwth]", "rate.discount_segments", "'tech_growth'"),
    # a reason rule without texts failed only when a decision named it (KeyError)
    ("    LIMIT_INVOICE_SALES:", "    LIMIT_INVOICE_SALE:", "reasons", "rule_texts"),
    ("innovation_discount_annual: {AAA: 0.0030,", "innovation_discount_annual: {AAAA: 0.0030,",
     "rate", "innovation_discount_annual"),
])
def test_a_wrong_name_is_refused_naming_its_field(tmp_path: Path, old: str, new: str,
                                                  field: str, detail: str) -> None:
    with pytest.raises(ConfigError, match=rf"policy\.yaml: {re.escape(field)}[.:]") as info:
        load_policy(_with(tmp_path, old, new))
    assert detail in str(info.value)
