"""Helpers for tests that edit application payloads (nested dicts and lists of records)."""

from __future__ import annotations

from typing import Any


def edited(doc: dict[str, Any], path: tuple[Any, ...], value: Any = None, *,
           delete: bool = False) -> dict[str, Any]:
    """A copy of ``doc`` with ``path`` set to ``value`` (or deleted); only the path is copied.

    Examples
    --------
    >>> doc = {"firm": {"employees": 3}, "invoices": [{"amount_cny": 1.0}]}
    >>> edited(doc, ("invoices", 0, "amount_cny"), True)["invoices"]
    [{'amount_cny': True}]
    >>> edited(doc, ("firm", "employees"), delete=True), doc["firm"]
    ({'firm': {}, 'invoices': [{'amount_cny': 1.0}]}, {'employees': 3})
    """
    out = dict(doc)
    node: Any = out
    for key in path[:-1]:
        child = node[key]
        child = list(child) if isinstance(child, list) else dict(child)
        node[key] = child
        node = child
    if delete:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return out


def location(path: tuple[Any, ...]) -> str:
    """How ``InvalidInputError.fields`` names ``path``.

    Examples
    --------
    >>> location(("invoices", 0, "amount_cny")), location(("request", "term_months"))
    ('invoices[0].amount_cny', 'request.term_months')
    """
    head, *rest = path
    text = str(head)
    for p in rest:
        text += f"[{p}]" if isinstance(p, int) else f".{p}"
    return text
