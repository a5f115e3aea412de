"""Reason codes: the rules that fired and the features that cost the applicant most.

DOMAIN.md section 6: a decision names up to four principal reasons, policy rules first
(knock-outs, then refer rules, then the limit or rate rule that bound), then the
features whose log-odds contributions raised the applicant's probability of default
most. A contribution is measured against the segment's reference applicant, which is
the model's bias term (the average log-odds of the segment's training rows): a
positive contribution means this feature's value made the applicant riskier than that
reference. Only features the champion reads can be reasons, and each feature has one
stable code with Chinese and English text from the catalogue.

Examples
--------
>>> import numpy as np
>>> from techcredit.explain.reasons import ReasonCatalogue, rank_reasons
>>> cat = ReasonCatalogue.for_features(["tax_paid_sum_12m", "inv_top1_share_12m"])
>>> contrib = np.array([[0.40, 0.10], [-0.2, 0.05]])
>>> texts = {"KO_TAX_GRADE_D": ("纳税信用等级为D级", "Tax-credit grade is D")}
>>> rows = rank_reasons(contrib, cat, rules=[("KO_TAX_GRADE_D",), ()], rule_texts=texts,
...                     wanted=np.array([True, True]), max_reasons=2)
>>> [r.code for r in rows[0]], [r.code for r in rows[1]]
(['KO_TAX_GRADE_D', 'TAX_PAID_LOW'], ['INV_TOP1_CONCENTRATION'])
>>> rows[1][0].text_en
'Sales depend on one customer'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from techcredit.exceptions import ModelError
from techcredit.features._jit import kernel, kernel_array
from techcredit.features.catalogue import get

__all__ = ["Reason", "ReasonCatalogue", "ReasonFields", "rank_reason_fields", "rank_reasons"]


class Reason(NamedTuple):
    """One principal reason of a decision."""

    code: str
    """Stable UPPER_SNAKE code: a rule id or a feature's reason code."""
    text_zh: str
    text_en: str
    contribution: float | None
    """Log-odds the feature added to the applicant's PD; ``None`` for a policy rule."""
    feature: str | None
    """The feature behind a model reason; ``None`` for a policy rule."""

    def to_dict(self) -> dict[str, object]:
        """Plain mapping (JSON-ready)."""
        return self._asdict()


ReasonFields = tuple[str, str, str, float | None, str | None]
"""A :class:`Reason`'s fields as a plain tuple (equal to the Reason; ``Reason._make`` makes one).

Batches keep reasons in this form: plain tuples of strings and numbers are dropped from
Python's cyclic garbage collector after their first pass, where a hundred thousand rows
of ``Reason`` objects (a tuple subclass stays tracked) would each be traversed by every
full collection during and after the batch.
"""


@dataclass(frozen=True)
class ReasonCatalogue:
    """Reason code and texts of each model feature, in the model's column order."""

    features: tuple[str, ...]
    codes: tuple[str, ...]
    texts_zh: tuple[str, ...]
    texts_en: tuple[str, ...]

    @classmethod
    def for_features(cls, names: Sequence[str]) -> ReasonCatalogue:
        """Look every feature up in the feature catalogue.

        Raises
        ------
        ModelError
            If a model feature has no catalogue entry (the bundle and the library disagree).
        """
        entries = []
        for name in names:
            try:
                entries.append(get(name))
            except ValueError as exc:
                raise ModelError(f"model feature {name!r} has no catalogue entry") from exc
        return cls(tuple(names), tuple(e.reason_code for e in entries),
                   tuple(e.reason_zh for e in entries), tuple(e.reason_en for e in entries))


def rank_reasons(contributions: np.ndarray, catalogue: ReasonCatalogue, *,
                 rules: Sequence[Sequence[str]],
                 rule_texts: Mapping[str, tuple[str, str]],
                 wanted: np.ndarray, max_reasons: int) -> list[tuple[Reason, ...]]:
    """Rank the principal reasons of each row.

    Parameters
    ----------
    contributions : ndarray, shape (n, k)
        Calibrated log-odds contributions of the champion's features (bias excluded),
        columns as ``catalogue.features``.
    catalogue : ReasonCatalogue
    rules : sequence of n sequences of rule ids
        Policy rules that cost each applicant, most important first.
    rule_texts : mapping rule id -> (zh, en)
    wanted : bool array, shape (n,)
        Rows that need model reasons (declines, refers, reduced or raised offers);
        rules are always listed.
    max_reasons : int

    Returns
    -------
    list of tuple of Reason
        Per row, rules first, then the features with the largest positive contribution
        (ties: catalogue order), at most ``max_reasons`` in all.
    """
    rows = rank_reason_fields(contributions, catalogue, rules=rules, rule_texts=rule_texts,
                              wanted=wanted, max_reasons=max_reasons)
    return [tuple(map(Reason._make, row)) for row in rows]


def rank_reason_fields(contributions: np.ndarray, catalogue: ReasonCatalogue, *,
                       rules: Sequence[Sequence[str]],
                       rule_texts: Mapping[str, tuple[str, str]],
                       wanted: np.ndarray, max_reasons: int
                       ) -> list[tuple[ReasonFields, ...]]:
    """:func:`rank_reasons` with each reason as plain :data:`ReasonFields` (batches)."""
    n, k = contributions.shape
    if k != len(catalogue.features):
        raise ModelError("contributions and the reason catalogue disagree on features")
    # the first max_reasons of a stable sort of -contribution: largest first, ties in
    # column order, NaN last
    width = min(max_reasons, k)
    order, top = np.empty((n, width), dtype=np.int64), np.empty((n, width))
    _largest(kernel_array(contributions), order, top)
    # flat Python lists (one per batch, not one per row: rows' lists would outlive the
    # young GC generations and trigger full collections) and one Reason per rule id
    top_j = order.ravel().tolist()
    top_value = top.ravel().tolist()
    want = np.asarray(wanted, dtype=bool).tolist()
    rule_reason: dict[str, ReasonFields] = {}
    out: list[tuple[ReasonFields, ...]] = []
    for i in range(n):
        if not rules[i] and not want[i]:
            out.append(())
            continue
        picked: list[ReasonFields] = []
        seen: set[str] = set()
        for rule in rules[i]:
            if len(picked) == max_reasons:
                break
            if rule not in seen:
                reason = rule_reason.get(rule)
                if reason is None:
                    zh, en = rule_texts[rule]
                    reason = rule_reason[rule] = (rule, zh, en, None, None)
                picked.append(reason)
                seen.add(rule)
        if want[i]:
            for at in range(i * width, (i + 1) * width):
                value = top_value[at]
                if len(picked) == max_reasons or not value > 0.0:
                    break
                j = top_j[at]
                code = catalogue.codes[j]
                if code in seen:
                    continue
                picked.append((code, catalogue.texts_zh[j], catalogue.texts_en[j], value,
                               catalogue.features[j]))
                seen.add(code)
        out.append(tuple(picked))
    return out


@kernel
def _largest(values: np.ndarray, order: np.ndarray, top: np.ndarray) -> None:
    """Per row, the columns of its ``order.shape[1]`` largest values and those values:
    ``np.argsort(-values, kind="stable")[:, :width]`` (ties in column order, NaN last)
    by selection, without sorting the rest."""
    taken = np.zeros(values.shape[1], dtype=np.bool_)
    for i in range(values.shape[0]):
        row = values[i]
        taken[:] = False
        for slot in range(order.shape[1]):
            best = -1
            for j in range(row.size):
                if taken[j]:
                    continue
                if best < 0 or row[j] > row[best] or (row[best] != row[best]
                                                       and row[j] == row[j]):
                    best = j
            taken[best] = True
            order[i, slot], top[i, slot] = best, row[best]
