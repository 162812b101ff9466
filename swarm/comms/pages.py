"""HTML pages of the comms UI: `/agents` (runs), `/agents/{run}` (timeline), `/agents/general`.

    html = runs_page("payments", runs)                      # runs with live status (polls the API)
    html = channel_page("payments", "inv-1", rows, result)  # timeline, then live over SSE
    html = channel_page("payments", None, rows, None)       # the general channel

Pages are rendered on the server; the only script is `/agents/static/comms.js` (no inline script, the
CSP forbids it). Live messages arrive over SSE with their HTML already sanitised by `render.py`;
the runs table is filled with `textContent` only.
"""

from __future__ import annotations

import html
from typing import Any
from urllib.parse import quote

import nats.js.errors
from pydantic import ValidationError

from swarm.bus.connect import Bus
from swarm.models import Result

from .db import RESULT_STATUSES
from .render import message_html, render_markdown

__all__ = ["runs_page", "channel_page", "fetch_result", "SCRIPT", "STYLE"]


async def fetch_result(bus: Bus, run_id: str) -> Result | None:
    """The Result of an investigation from the RESULTS stream (None while it runs)."""
    for outcome in RESULT_STATUSES:
        try:
            msg = await bus.js.get_last_msg(bus.names.stream("RESULTS"), bus.names.result(outcome, run_id))
        except (nats.js.errors.NotFoundError, nats.js.errors.APIError):
            continue
        try:
            return Result.model_validate_json(msg.data or b"")
        except ValidationError:
            return None
    return None


def _layout(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name=viewport content="width=device-width, initial-scale=1">'
        f"<title>{html.escape(title)}</title>"
        '<link rel=stylesheet href="/agents/static/comms.css">'
        '<script defer src="/agents/static/comms.js"></script></head><body>'
        '<nav><a href="/agents">runs</a> · <a href="/agents/general">general channel</a></nav>'
        f"{body}</body></html>"
    )


def runs_page(namespace: str, runs: list[dict[str, Any]]) -> str:
    rows = "".join(
        f'<tr><td><a href="/agents/{quote(r["run_id"], safe="")}">{html.escape(r["run_id"])}</a></td>'
        f'<td class="st-{html.escape(r["status"])}">{html.escape(r["status"])}</td>'
        f"<td>{int(r['messages'])}</td><td>{html.escape(str(r['last_kind']))}</td>"
        f"<td>{html.escape(r['last_at'][:19].replace('T', ' '))}</td></tr>"
        for r in runs
    )
    empty = "" if runs else '<p class="empty">no runs yet</p>'
    body = (
        f"<h1>Agent runs <small>namespace {html.escape(namespace)}</small></h1>"
        '<table id="runs" data-poll="/api/agents/runs"><thead><tr><th>run</th><th>status</th><th>messages</th>'
        f"<th>last</th><th>at (UTC)</th></tr></thead><tbody>{rows}</tbody></table>{empty}"
    )
    return _layout("swarm · agent runs", body)


def _result_html(result: Result | None) -> str:
    if result is None:
        return '<section id="result" class="pending">no Result yet</section>'
    summary = render_markdown(result.summary or result.root_cause or "")
    return (
        f'<section id="result" class="st-{html.escape(result.status)}"><h2>Result: {html.escape(result.status)}</h2>'
        f"{summary}</section>"
    )


def channel_page(namespace: str, run_id: str | None, rows: list[dict[str, Any]], result: Result | None) -> str:
    """A run's timeline (run_id) or the general channel (None), followed live from the last id shown."""
    last = rows[-1]["id"] if rows else 0
    if run_id is None:
        title, feed, extra = "general channel", f"/api/agents/events?channel=general&lastEventId={last}", ""
    else:
        title = f"run {run_id}"
        feed = f"/api/agents/events?runId={quote(run_id, safe='')}&lastEventId={last}"
        extra = _result_html(result)
    items = "".join(message_html(r) for r in rows)
    body = (
        f"<h1>{html.escape(title)} <small>namespace {html.escape(namespace)}</small>"
        ' <span id="live" class="live">connecting…</span></h1>'
        f'<section id="timeline" data-feed="{html.escape(feed)}">{items}</section>{extra}'
    )
    return _layout(f"swarm · {title}", body)


SCRIPT = """\
"use strict";
// Live updates for the comms pages. Message HTML comes sanitised from the server; everything else
// is set with textContent.
(function () {
  const timeline = document.getElementById("timeline");
  const live = document.getElementById("live");
  if (timeline && timeline.dataset.feed) {
    const es = new EventSource(timeline.dataset.feed);
    es.onopen = () => { live.textContent = "live"; live.className = "live on"; };
    es.onerror = () => { live.textContent = "reconnecting…"; live.className = "live off"; };
    es.onmessage = (e) => {
      const m = JSON.parse(e.data);
      if (document.getElementById("m" + m.id)) return;
      const tpl = document.createElement("template");
      tpl.innerHTML = m.html;
      timeline.appendChild(tpl.content);
    };
  }
  const runs = document.getElementById("runs");
  if (runs && runs.dataset.poll) {
    const refresh = async () => {
      try {
        const data = await (await fetch(runs.dataset.poll)).json();
        const body = document.createElement("tbody");
        for (const r of data.runs) {
          const tr = body.insertRow();
          const a = document.createElement("a");
          a.href = "/agents/" + encodeURIComponent(r.run_id);
          a.textContent = r.run_id;
          tr.insertCell().appendChild(a);
          const st = tr.insertCell(); st.textContent = r.status; st.className = "st-" + r.status;
          tr.insertCell().textContent = r.messages;
          tr.insertCell().textContent = r.last_kind;
          tr.insertCell().textContent = r.last_at.slice(0, 19).replace("T", " ");
        }
        runs.replaceChild(body, runs.tBodies[0]);
      } catch (err) { /* next poll */ }
    };
    setInterval(refresh, 3000);
  }
})();
"""

STYLE = """\
body { font: 14px/1.45 system-ui, sans-serif; margin: 1.5rem auto; max-width: 60rem; color: #1d2330; }
nav { margin-bottom: 1rem; } nav a { color: #2456c6; }
h1 small { color: #6b7385; font-weight: normal; font-size: .6em; }
table { border-collapse: collapse; width: 100%; } td, th { border-bottom: 1px solid #e3e6ee; padding: .35rem; }
th { text-align: left; color: #6b7385; }
.live { font-size: .55em; padding: .1rem .45rem; border-radius: .6rem; background: #eee; vertical-align: middle; }
.live.on { background: #d7f5dd; color: #176b2c; } .live.off { background: #fde2e1; color: #9b1c1c; }
article.msg { border-left: 4px solid #c7cedb; margin: .6rem 0; padding: .3rem .8rem; background: #f8f9fb; }
article.msg header { color: #6b7385; font-size: .85em; } article.msg .id { float: right; }
.kind { font-weight: 600; color: #1d2330; text-transform: uppercase; font-size: .8em; }
.f-plan { border-color: #7b61ff; } .f-finding { border-color: #2f80ed; } .f-patch { border-color: #27ae60; }
.f-review { border-color: #f2994a; } .f-status { border-color: #1d2330; } .f-notice { border-color: #bdbdbd; }
.f-tool_call, .f-tool_result { border-color: #9aa3b5; background: #fff; }
pre { background: #f0f2f6; padding: .5rem; overflow-x: auto; white-space: pre-wrap; word-break: break-word; }
pre.diff .add { color: #176b2c; background: #e6f6ea; } pre.diff .del { color: #9b1c1c; background: #fde8e8; }
pre.diff .hunk { color: #6b7385; }
#result { margin-top: 1.2rem; padding: .6rem 1rem; border: 2px solid #c7cedb; }
.st-fixed { color: #176b2c; border-color: #27ae60 !important; } .st-failed, .st-rejected { color: #9b1c1c; }
.st-no_fix { color: #8a5a00; } .st-running { color: #2456c6; } .empty, .pending { color: #6b7385; }
"""
