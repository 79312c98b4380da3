"""Self-contained HTML: the run's report (index.html) and the demo's page.

No external files: styles, charts (inline SVG) and the small script that counts
what the browser rendered are all in the page, so it can be mailed or
archived as a CI artifact.
"""

from __future__ import annotations

import sys
from html import escape
from pathlib import Path
from typing import Any, Iterable

from sim.timeline import SYSTEM_NAMES, Check, Timeline, clock_text

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0 auto;max-width:1180px;padding:1em 2em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ccc}h3{font-size:1.05em;margin:.3em 0}
.scenario{border:1px solid #ddd;border-left:6px solid #999;border-radius:4px;padding:.6em 1em;margin:1em 0}
.passed{border-left-color:#2e8b3a}.failed{border-left-color:#d62728}.skipped,.xfailed{border-left-color:#d9a400}
.badge{display:inline-block;padding:0 .5em;border-radius:3px;color:#fff;font-size:.85em;background:#999}
.badge.passed{background:#2e8b3a}.badge.failed{background:#d62728}.badge.skipped,.badge.xfailed,.badge.xpassed{background:#b58900}
.tags{color:#666;font-size:.85em}ol.steps{padding-left:1.4em}ol.steps li{margin:.1em 0}
.step-passed::marker{color:#2e8b3a}.step-failed{color:#d62728;font-weight:600}.step-skipped{color:#999}
table{border-collapse:collapse;font-size:12.5px}td,th{border-bottom:1px solid #eee;padding:2px 6px;text-align:left;vertical-align:top}
td.n{text-align:right;font-variant-numeric:tabular-nums}tr.changed td{background:#fff6d5}tr.bad td{background:#fde2e2}
.compare{display:grid;grid-template-columns:1fr 1fr;gap:1em}.compare>div{overflow-x:auto}
pre.error{background:#fdf0f0;border:1px solid #f3c4c4;padding:.5em;white-space:pre-wrap;font-size:12px}
figure.chart{margin:.5em 0}figure.chart svg{max-width:100%;height:auto}
#browser-check{color:#666;font-size:.85em}.toc{columns:2;font-size:.9em}.narration{white-space:pre-wrap;font:12.5px ui-monospace,monospace}
"""

#: Counts what the browser actually rendered: a chart counts only if its SVG has a non-empty box.
SCRIPT = """
document.addEventListener('DOMContentLoaded', function () {
  var scenarios = document.querySelectorAll('section.scenario'), charts = 0;
  scenarios.forEach(function (s) {
    var svg = s.querySelector('figure.chart svg');
    if (svg && svg.getBBox().width > 0) { charts++; s.setAttribute('data-chart-rendered', 'yes'); }
  });
  document.getElementById('browser-check').textContent =
    scenarios.length + ' scenarios, ' + charts + ' charts rendered';
});
"""


def page(title: str, body: str) -> str:
    return (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
            f"<style>{STYLE}</style></head><body>\n<h1>{escape(title)}</h1>\n"
            f'<p id="browser-check">(the browser fills this in)</p>\n{body}\n<script>{SCRIPT}</script></body></html>\n')


# -- the run's report ------------------------------------------------------------------
def write_index(path: Path, records: list[dict[str, Any]], drawer: "ChartDrawer | None" = None) -> None:
    """The page; ``drawer`` may hold charts drawn while the scenarios ran (else they are drawn now)."""
    drawer = drawer or ChartDrawer()
    counts: dict[str, int] = {}
    for record in records:
        counts[record["outcome"]] = counts.get(record["outcome"], 0) + 1
    summary = ", ".join(f"{n} {outcome}" for outcome, n in sorted(counts.items()))
    toc = "".join(f'<li><span class="badge {r["outcome"]}">{r["outcome"]}</span> '
                  f'<a href="#{_anchor(r)}">{escape(r["scenario"]["name"])}</a></li>' for r in records)
    sections = []
    for feature, group in _by_feature(records):
        sections.append(f"<h2>{escape(feature)}</h2>")
        sections += [scenario_section(r, drawer.svg) for r in group]
    body = (f"<p>{len(records)} scenarios: {escape(summary)}.{escape(drawer.note)}</p>"
            f'<ol class="toc">{toc}</ol>' + "\n".join(sections))
    path.write_text(page("stocksim: acceptance report", body), encoding="utf-8")


def chart_svg(document: dict[str, Any], title: str) -> str:
    """A timeline document's chart as inline SVG (matplotlib: raises ``ChartsUnavailable`` without it)."""
    from sim import charts

    return charts.inline_svg(charts.stock_chart(Timeline.from_document(document), title))


class ChartDrawer:
    """The report's charts, each drawn in a process of its own as soon as its scenario ends.

    A run of the scenarios keeps one core busy (one GIL); drawing the charts at the end took a
    quarter of ``stocksim run`` (~0.06 s each with matplotlib). Sent to a spawned process as the
    records arrive, they are drawn on the other core meanwhile. Whatever that process did not
    draw (it could not start, or failed) is drawn here when the page is written: the same SVG.
    """

    def __init__(self) -> None:
        self.note = ""
        self._available = True
        self._pool: Any = None
        self._pool_failed = False
        self._drawing: dict[int, tuple[dict[str, Any], str, Any]] = {}

    def submit(self, document: dict[str, Any], title: str) -> None:
        if self._pool_failed:
            return
        try:
            if self._pool is None:
                import multiprocessing
                from concurrent.futures import ProcessPoolExecutor

                self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
            self._drawing[id(document)] = (document, title, self._pool.submit(chart_svg, document, title))
        except (OSError, RuntimeError):  # no process to be had (BrokenProcessPool is a RuntimeError)
            self._pool_failed = True
            self.close()

    def svg(self, document: dict[str, Any], title: str) -> str | None:
        """The chart, or None without matplotlib (the page then says why, in ``note``)."""
        drawing = self._drawing.pop(id(document), None)
        if drawing is not None and drawing[0] is document and drawing[1] == title:
            try:
                return str(drawing[2].result(timeout=CHART_TIMEOUT))
            except Exception:  # noqa: BLE001 - whatever went wrong there, draw it here
                pass
        if not self._available:
            return None
        from sim import charts

        try:
            return chart_svg(document, title)
        except charts.ChartsUnavailable as exc:
            self._available = False
            self.note = f" No charts: {exc}."
            print(f"stocksim: {exc}; the report has no charts", file=sys.stderr)
            return None

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None


#: How long one chart may take in the drawing process before it is drawn here instead.
CHART_TIMEOUT = 120.0


def _by_feature(records: list[dict[str, Any]]) -> Iterable[tuple[str, list[dict[str, Any]]]]:
    groups: dict[str, list[dict[str, Any]]] = {}
    for record in records:
        feature = record["feature"]
        groups.setdefault(f'{feature["name"]} ({feature["rel_filename"]})', []).append(record)
    return groups.items()


def _anchor(record: dict[str, Any]) -> str:
    return "s-" + "".join(c if c.isalnum() else "-" for c in record["nodeid"]).strip("-")


def scenario_section(record: dict[str, Any], charts: Any) -> str:
    scenario = record["scenario"]
    status = record["outcome"]
    parts = [f'<section class="scenario {status}" id="{_anchor(record)}" data-status="{status}">',
             f'<h3><span class="badge {status}">{status}</span> {escape(scenario["name"])}</h3>',
             f'<div class="tags">{" ".join("@" + escape(t) for t in scenario["tags"])} · '
             f'{escape(record["feature"]["rel_filename"])}:{scenario["line"]}</div>',
             steps_list(record["steps"])]
    document = record.get("timeline")
    if document:
        timeline = Timeline.from_document(document)
        svg = charts(document, scenario["name"]) if charts is not None else None
        if svg is not None:
            parts.append(f'<figure class="chart">{svg}</figure>')
        if status == "failed":
            parts.append(compare(timeline, record.get("error", "")))
        else:
            parts.append(f"<details><summary>timeline ({len(timeline)} events)</summary>"
                         f"{events_table(timeline)}</details>")
    elif record.get("error"):
        parts.append(f'<pre class="error">{escape(record["error"])}</pre>')
    parts.append("</section>")
    return "\n".join(parts)


def steps_list(steps: list[dict[str, Any]]) -> str:
    items = "".join(f'<li class="step-{s["status"]}"><b>{escape(s["keyword"])}</b> {escape(s["name"])}'
                    f'{" — " + s["status"] if s["status"] != "passed" else ""}</li>' for s in steps)
    return f'<ol class="steps">{items}</ol>'


def compare(timeline: Timeline, error: str) -> str:
    """The expected timeline (what the checks asked for, and when) beside the actual one (what happened)."""
    return ('<div class="compare">'
            f'<div><h4>expected (the scenario\'s checks)</h4>{checks_table(timeline.checks)}'
            f'<pre class="error">{escape(error_summary(error))}</pre></div>'
            f"<div><h4>actual (the run)</h4>{events_table(timeline)}</div></div>")


def checks_table(checks: list[Check]) -> str:
    if not checks:
        return "<p>(no timed check was recorded before the failure: see the error below)</p>"
    rows = []
    for c in checks:
        when = clock_text(c.t) if c.t_from == c.t else f"{clock_text(c.t_from)}–{clock_text(c.t)}"
        rows.append(f'<tr class="{"" if c.ok else "bad"}"><td class="n">{when}</td>'
                    f"<td>{escape(c.text)}</td><td class=n>{_q(c.expected)}</td><td class=n>{_q(c.actual)}</td>"
                    f'<td>{"held" if c.ok else "FAILED"}</td></tr>')
    return ("<table><tr><th>time</th><th>check</th><th>expected</th><th>actual</th><th></th></tr>"
            + "".join(rows) + "</table>")


def events_table(timeline: Timeline) -> str:
    events = list(timeline)
    columns = [(system, sku) for system in SYSTEM_NAMES
               for sku in sorted({sku for e in events for sku in e.stock.get(system, {})})]
    head = "".join(f"<th>{SYSTEM_NAMES[system]}{' ' + escape(sku) if len(columns) > 2 else ''}</th>"
                   for system, sku in columns)
    rows = []
    previous = None
    for event in events:
        changed = previous is not None and previous.stock != event.stock
        cells = "".join(f"<td class=n>{_q(event.qty(system, sku))}</td>" for system, sku in columns)
        rows.append(f'<tr class="{"changed" if changed else ""}"><td class=n>{clock_text(event.t)}</td>'
                    f"<td>{escape(event.kind)}</td>{cells}<td>{escape(event.detail)}</td></tr>")
        previous = event
    return (f"<table><tr><th>time</th><th>event</th>{head}<th>detail</th></tr>" + "".join(rows) + "</table>")


# -- the demo's page ---------------------------------------------------------------------
def demo_page(document: dict[str, Any], narration: str, chart_svg: str | None, lang: str = "en") -> str:
    timeline = Timeline.from_document(document)
    title = f'stocksim demo: {document["case"]} — {document["scenario"]}'
    chart = f'<figure class="chart">{chart_svg}</figure>' if chart_svg else "<p>(no chart: matplotlib missing)</p>"
    body = (f'<section class="scenario {document.get("result", "passed")}" data-status="{document.get("result", "")}">'
            f"{chart}<h2>{'Хронология' if lang == 'ru' else 'Narration'}</h2>"
            f'<div class="narration">{escape(narration)}</div>'
            f"<h2>{'Проверки' if lang == 'ru' else 'Checks'}</h2>{checks_table(timeline.checks)}"
            f"<h2>{'События' if lang == 'ru' else 'Timeline'}</h2>{events_table(timeline)}</section>")
    return page(title, body).replace('<html lang="en">', f'<html lang="{lang}">')


def _q(qty: int | None) -> str:
    return "-" if qty is None else str(qty)


def error_summary(text: str, most: int = 12) -> str:
    """pytest's ``E`` lines (the assertion's message), else the last lines of the failure."""
    lines = text.strip().splitlines()
    messages = [line[1:].strip() for line in lines if line.startswith("E ")]
    return "\n".join(messages[:most] if messages else lines[-most:])
