"""A small, dependency-free HTML writer for self-contained reports.

Reports are one file: styles inline, figures as ``data:image/png;base64`` URIs, and the report's
facts embedded as JSON (``<script type="application/json" id="fijax-facts">``) so a program can
read back exactly what a person reads.
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

STYLE = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;max-width:1100px;margin:2em auto;
 padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;border-bottom:2px solid #446;padding-bottom:.2em}h2{font-size:1.25em;margin-top:1.6em;color:#335}
table{border-collapse:collapse;margin:.5em 0 1em 0;font-size:.9em}
th,td{border:1px solid #bbc;padding:.25em .6em;text-align:left;vertical-align:top}
th{background:#eef}td.num{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ccd}figcaption{font-size:.85em;color:#555}
.warning{background:#fff3cd;border:1px solid #e0b000;padding:.6em 1em;margin:1em 0}
.verdict-good{color:#1a6b1a;font-weight:bold}.verdict-bad{color:#a01010;font-weight:bold}
.methods{background:#f6f6fb;border-left:4px solid #446;padding:.8em 1em;white-space:pre-wrap}
code{background:#f2f2f2;padding:0 .2em}
"""


def esc(value: Any) -> str:
    """HTML-escape ``value`` rendered as text."""
    return html.escape(fmt(value), quote=True)


def fmt(value: Any) -> str:
    """Render a value for a table cell: floats to 6 significant digits, lists comma-separated."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if math.isnan(value):
            return "NaN"
        return f"{value:.6g}"
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v) for v in value)
    if isinstance(value, Mapping):
        return json.dumps(value, sort_keys=True, default=str)
    return str(value)


def _cell(value: Any, tag: str = "td") -> str:
    cls = ' class="num"' if isinstance(value, int | float) and not isinstance(value, bool) else ""
    return f"<{tag}{cls}>{esc(value)}</{tag}>"


def kv_table(items: Mapping[str, Any] | Iterable[tuple[str, Any]], table_id: str) -> str:
    """A two-column table (key, value) with ``id=table_id``."""
    pairs = items.items() if isinstance(items, Mapping) else items
    rows = "".join(f"<tr><th>{esc(k)}</th>{_cell(v)}</tr>" for k, v in pairs)
    return f'<table id="{esc(table_id)}" class="kv"><tbody>{rows}</tbody></table>'


def rows_table(rows: Sequence[Mapping[str, Any]], table_id: str, columns: Sequence[str] | None = None) -> str:
    """A table with one header row (``columns``, default: keys of the first row) and one row per mapping."""
    if not rows:
        return f'<table id="{esc(table_id)}"><tbody><tr><td>(no rows)</td></tr></tbody></table>'
    cols = list(columns or rows[0].keys())
    head = "".join(f"<th>{esc(c)}</th>" for c in cols)
    body = "".join("<tr>" + "".join(_cell(r.get(c)) for c in cols) + "</tr>" for r in rows)
    return f'<table id="{esc(table_id)}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def figure(png_b64: str, fig_id: str, caption: str) -> str:
    """An embedded PNG figure (base64) with a caption."""
    return (f'<figure id="{esc(fig_id)}"><img alt="{esc(caption)}" src="data:image/png;base64,{png_b64}">'
            f"<figcaption>{esc(caption)}</figcaption></figure>")


def section(sec_id: str, title: str, *parts: str) -> str:
    """A ``<section id=...>`` with an ``<h2>`` title."""
    return f'<section id="{esc(sec_id)}"><h2>{esc(title)}</h2>{"".join(parts)}</section>'


def para(text: str, cls: str | None = None, elem_id: str | None = None) -> str:
    """A paragraph of escaped text."""
    attrs = (f' class="{esc(cls)}"' if cls else "") + (f' id="{esc(elem_id)}"' if elem_id else "")
    return f"<p{attrs}>{esc(text)}</p>"


def document(title: str, body: str, facts: Mapping[str, Any]) -> str:
    """A complete HTML document with inline styles and the facts as embedded JSON."""
    data = json.dumps(facts, sort_keys=True, default=str).replace("</", "<\\/")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<title>{esc(title)}</title><style>{STYLE}</style></head><body>"
            f"<h1>{esc(title)}</h1>{body}"
            f'<script type="application/json" id="fijax-facts">{data}</script></body></html>\n')
