"""Safe HTML for agent messages: markdown rendered, raw HTML shown as text, output sanitised.

    render_markdown("**KeyError** <script>alert(1)</script>")
    # '<p><strong>KeyError</strong> &lt;script&gt;alert(1)&lt;/script&gt;</p>\\n'
    message_html(record)        # one timeline entry: header, body, tool calls folded, patches as diffs

Message content is attacker-controlled (an error message comes from outside). Three layers keep it
inert: markdown-it with HTML disabled escapes every tag as text; nh3 (ammonia) sanitises the result
against an allow-list (no scripts, no event handlers, no `javascript:` links); the pages send a
Content-Security-Policy without inline scripts.
"""

from __future__ import annotations

import html
import json
from typing import Any

import nh3
from markdown_it import MarkdownIt

__all__ = ["render_markdown", "message_html", "kind_family", "KIND_FAMILIES"]

_md = MarkdownIt("commonmark", {"html": False, "linkify": False}).enable("table").enable("strikethrough")
_TAGS = {
    "p", "br", "hr", "strong", "em", "del", "code", "pre", "blockquote", "ul", "ol", "li", "a",
    "h1", "h2", "h3", "h4", "h5", "h6", "table", "thead", "tbody", "tr", "th", "td", "span",
}
_ATTRS = {"a": {"href", "title"}, "code": {"class"}, "span": {"class"}, "th": {"style"}, "td": {"style"}}

# finer kinds agents use today, mapped onto the channel's families (plan, finding, tool_call, ...)
KIND_FAMILIES: dict[str, str] = {
    "plan": "plan", "finding": "finding", "research": "finding", "note": "finding",
    "tool_call": "tool_call", "attempt": "tool_call", "tool_result": "tool_result", "tests": "tool_result",
    "patch": "patch", "fix": "patch", "review": "review", "status": "status", "result": "status",
    "no_fix": "status", "started": "status", "notice": "notice", "brain": "notice",
}


def kind_family(kind: str) -> str:
    return KIND_FAMILIES.get(kind, "notice")


def sanitise(fragment: str) -> str:
    return nh3.clean(fragment, tags=_TAGS, attributes=_ATTRS, url_schemes={"http", "https", "mailto"},
                     link_rel="noopener noreferrer nofollow")


def render_markdown(text: str) -> str:
    """Markdown to sanitised HTML; any HTML in `text` comes out as visible text."""
    return sanitise(_md.render(text or ""))


def _diff_html(diff: str) -> str:
    rows = []
    for line in diff.splitlines():
        cls = {"+": "add", "-": "del", "@": "hunk"}.get(line[:1], "")
        rows.append(f'<span class="{cls}">{html.escape(line)}</span>' if cls else html.escape(line))
    return '<pre class="diff">' + "\n".join(rows) + "</pre>"


def _data_html(data: dict[str, Any]) -> str:
    rest = {k: v for k, v in data.items() if k != "diff"}
    if not rest:
        return ""
    return f'<pre class="data">{html.escape(json.dumps(rest, indent=2, default=str)[:4000])}</pre>'


def message_html(record: dict[str, Any]) -> str:
    """One message as a timeline entry (an `<article>`); every piece of record text is escaped or sanitised."""
    kind = str(record.get("kind", ""))
    family = kind_family(kind)
    data = record.get("data") or {}
    body = render_markdown(str(record.get("content", "")))
    diff = data.get("diff") if isinstance(data.get("diff"), str) else None
    if diff:
        body += _diff_html(diff)
    extra = _data_html(data)
    who = html.escape(f"{record.get('agent_id', '')} ({record.get('role', '')})")
    head = (
        f'<header><span class="kind k-{html.escape(family)}">{html.escape(kind)}</span> '
        f'<span class="who">{who}</span> '
        f'<time>{html.escape(str(record.get("timestamp", ""))[:19].replace("T", " "))}</time> '
        f'<span class="id">#{int(record.get("id", 0))}</span></header>'
    )
    if family in ("tool_call", "tool_result"):  # folded: the timeline stays readable
        inner = f"<details><summary>{html.escape(_first_line(record))}</summary>{body}{extra}</details>"
    else:
        folded = f"<details><summary>data</summary>{extra}</details>" if extra else ""
        inner = f'<div class="body">{body}</div>{folded}'
    return (
        f'<article class="msg f-{html.escape(family)}" id="m{int(record.get("id", 0))}" '
        f'data-id="{int(record.get("id", 0))}">{head}{inner}</article>'
    )


def _first_line(record: dict[str, Any]) -> str:
    text = str(record.get("content", "")).strip().splitlines()
    return (text[0][:160] if text else record.get("kind", "")) or "…"
