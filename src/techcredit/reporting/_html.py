"""Self-contained HTML pieces: escaped text, tables, embedded PNG images, the page.

Every image is a ``data:image/png;base64`` URI and the CSS is inline, so the page opens
from a file with no network. A small inline script counts images the browser could not
decode and writes the count into ``data-missing-images`` on ``<html>`` (read by the
headless-browser test).

Examples
--------
>>> table_html([{"metric": "AUC", "value": 0.8123}], floats="{:.3f}").split("<tbody>")[1]
'<tr><td>AUC</td><td class="num">0.812</td></tr></tbody></table>'
>>> esc("a < b & 'c'")
'a &lt; b &amp; &#x27;c&#x27;'
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from numbers import Integral, Real

__all__ = ["Section", "esc", "image_html", "page_html", "panels_html", "table_html"]

_CSS = """
body { font-family: "Noto Sans CJK SC", "Noto Sans", "DejaVu Sans", Arial, sans-serif;
       margin: 0 auto; max-width: 1180px; padding: 16px 28px; color: #1d2430; }
h1 { font-size: 26px; margin-bottom: 4px; }
h2 { font-size: 20px; border-bottom: 2px solid #3d5a80; padding-bottom: 4px; margin-top: 34px; }
h3 { font-size: 16px; margin: 18px 0 6px; color: #3d5a80; }
p.caption { color: #4a5568; font-size: 14px; max-width: 980px; }
table { border-collapse: collapse; font-size: 12.5px; margin: 6px 0 12px; }
th, td { border: 1px solid #cbd5e0; padding: 3px 7px; text-align: left; }
th { background: #edf2f7; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
td.pass { color: #22683a; font-weight: bold; } td.fail { color: #b42318; font-weight: bold; }
img { max-width: 100%; display: block; margin: 6px 0 10px; }
nav ol { columns: 2; font-size: 14px; }
.meta { color: #4a5568; font-size: 13px; }
.panels { display: flex; flex-wrap: wrap; gap: 4px 22px; }
.panel { flex: 0 1 510px; }
.warn { background: #fff4e5; border-left: 4px solid #dd6b20; padding: 6px 10px; }
"""

# Counts images that did not decode; the headless-browser test reads the attributes.
_SCRIPT = """
window.addEventListener("load", function () {
  var imgs = document.images, broken = 0;
  for (var i = 0; i < imgs.length; i++) {
    if (!imgs[i].complete || imgs[i].naturalWidth === 0) { broken++; }
  }
  document.documentElement.setAttribute("data-images", String(imgs.length));
  document.documentElement.setAttribute("data-missing-images", String(broken));
});
"""


@dataclass(frozen=True)
class Section:
    """One report section: an anchor id, a heading, a caption and its HTML body."""

    id: str
    title: str
    caption: str
    body: str

    def html(self) -> str:
        """The ``<section>`` element."""
        return (f'<section id="{esc(self.id)}"><h2>{esc(self.title)}</h2>'
                f'<p class="caption">{esc(self.caption)}</p>{self.body}</section>')


def esc(text: object) -> str:
    """HTML-escape ``str(text)`` (quotes included)."""
    return html.escape(str(text), quote=True)


def _cell(value: object, floats: str) -> str:
    """One ``<td>``: booleans as yes/no, integers (numpy's too) with thousands separators,
    other reals with ``floats`` (NaN as a dash), anything else as escaped text.

    Examples
    --------
    >>> import numpy as np
    >>> _cell(np.int64(12345), "{:.2f}"), _cell(True, "{:.2f}")
    ('<td class="num">12,345</td>', '<td>yes</td>')
    >>> _cell(np.float64(0.5), "{:.2f}"), _cell(float("nan"), "{:.2f}")
    ('<td class="num">0.50</td>', '<td class="num">–</td>')
    """
    if isinstance(value, bool):
        return f"<td>{'yes' if value else 'no'}</td>"
    if isinstance(value, Integral):
        return f'<td class="num">{int(value):,}</td>'
    if isinstance(value, Real):
        number = float(value)
        text = "–" if math.isnan(number) else floats.format(number)
        return f'<td class="num">{esc(text)}</td>'
    return f"<td>{esc('' if value is None else value)}</td>"


def table_html(rows: Sequence[Mapping[str, object]], *, floats: str = "{:.4f}",
               columns: Sequence[str] | None = None,
               classes: Sequence[str | None] | None = None) -> str:
    """An HTML table of ``rows`` (mappings); ``columns`` default to the first row's keys.

    ``classes`` optionally gives one CSS class per row (``"pass"``/``"fail"``), applied
    to the row's last cell.
    """
    if not rows:
        return "<p>(none)</p>"
    names = list(columns) if columns is not None else list(rows[0])
    head = "".join(f"<th>{esc(n)}</th>" for n in names)
    body = []
    for i, row in enumerate(rows):
        cells = [_cell(row.get(n), floats) for n in names]
        css = classes[i] if classes is not None else None
        if css:
            cells[-1] = cells[-1].replace("<td", f'<td class="{esc(css)}"', 1)
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def image_html(png: bytes, alt: str) -> str:
    """An ``<img>`` whose source is the PNG itself, base64-encoded (a data URI)."""
    data = base64.b64encode(png).decode("ascii")
    return f'<img alt="{esc(alt)}" src="data:image/png;base64,{data}">'


def panels_html(panels: Sequence[str]) -> str:
    """Blocks (e.g. a heading and a figure each) side by side, wrapping on narrow pages."""
    return ('<div class="panels">' + "".join(f'<div class="panel">{p}</div>' for p in panels)
            + "</div>")


def page_html(title: str, subtitle: str, sections: Sequence[Section]) -> str:
    """The whole page: inline CSS and script, a contents list, then every section."""
    toc = "".join(f'<li><a href="#{esc(s.id)}">{esc(s.title)}</a></li>' for s in sections)
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        f"<title>{esc(title)}</title><style>{_CSS}</style><script>{_SCRIPT}</script>"
        f'</head><body><h1>{esc(title)}</h1><p class="meta">{esc(subtitle)}</p>'
        f"<nav><ol>{toc}</ol></nav>{''.join(s.html() for s in sections)}</body></html>\n"
    )
