"""The narration, the charts and the HTML pages on hand-made timelines: no servers, no clock."""

from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from sim import charts
from sim.html_report import ChartDrawer, chart_svg, write_index
from sim.narration import STEPS_RU, TEXT, Narrator, step_text
from sim.timeline import Check, Event, Timeline

STOCK_10 = {"crm": {"SKU-1": 10}, "woo": {"SKU-1": 10}}
STOCK_8_10 = {"crm": {"SKU-1": 8}, "woo": {"SKU-1": 10}}
STOCK_8 = {"crm": {"SKU-1": 8}, "woo": {"SKU-1": 8}}


def c1_like() -> list[Event]:
    return [
        Event(0, "sim", "setup.product", "product", STOCK_10, {"name": "Lamp", "sku": "SKU-1", "qty": 10}),
        Event(0, "crm", "action.crm.order_create", "a CRM manager creates an order for 2 x SKU-1", STOCK_8_10,
              {"qty": 2, "sku": "SKU-1"}),
        Event(300, "connector", "sync.history", "ok, 2 request(s)", STOCK_8_10, {"ran": True, "ok": True, "requests": 2}),
        Event(900, "connector", "sync.inventories", "ok, 1 request(s), set #10=8", STOCK_8,
              {"ran": True, "ok": True, "requests": 1, "changed": {"10": 8}}),
    ]


def narrate(lang: str, tty: bool = False) -> tuple[Narrator, str]:
    out = io.StringIO()
    out.isatty = lambda: tty  # type: ignore[method-assign]
    due = {"inventories": 1800.0, "history": 1200.0}
    narrator = Narrator(lang, out, next_due=lambda: due, intervals={"inventories": 900, "history": 300})
    for event in c1_like():
        narrator.on_event(event)
    return narrator, out.getvalue()


def test_each_change_is_said_with_its_cause_and_what_is_due_next() -> None:
    narrator, text = narrate("en")
    lines = text.splitlines()
    sync = next(i for i, line in enumerate(lines) if "stock sync (module)" in line)
    assert lines[sync].startswith(" 0:15:00 *")
    assert lines[sync + 1].strip().startswith("(every 15 min the module reads the CRM's stock")
    assert lines[sync + 2].strip() == "-> shop stock of SKU-1: 10 -> 8"
    assert "next: order history 0:20:00, stock sync 0:30:00" in text
    history = next(line for line in lines if "order history (module)" in line)
    assert history.startswith(" 0:05:00  ")  # no marker: it changed nothing
    assert narrator.summary()[1:] == [
        "  0:15:00  shop SKU-1: 10 -> 8  (stock sync (module))",
        "  0:00:00  CRM SKU-1: 10 -> 8  (a CRM manager creates an order for 2 x SKU-1)",
    ]


def test_russian_narration_uses_the_facts_not_the_english_detail() -> None:
    _, text = narrate("ru")
    assert "менеджер CRM оформляет заказ: 2 шт. SKU-1" in text
    assert "синхронизация остатков (модуль): выполнено, запросов: 1; в магазине установлено: #10 = 8" in text
    assert "-> остаток SKU-1 (магазин): 10 -> 8" in text
    assert "creates an order" not in text


def test_every_english_message_has_a_russian_one() -> None:
    assert set(TEXT["en"]) == set(TEXT["ru"])


@pytest.mark.parametrize(("keyword", "sentence", "russian"), [
    ("When", "a CRM manager creates an order for 2 units", "Когда менеджер CRM оформляет заказ на 2 шт."),
    ("And", "the shop stock stays 10 until the next stock sync, which sets it to 8",
     "И остаток в магазине (WooCommerce) остаётся 10 до следующей синхронизации остатков, которая ставит 8"),
    ("Then", "something no table knows", "Тогда something no table knows"),
])
def test_steps_in_russian(keyword: str, sentence: str, russian: str) -> None:
    assert step_text("ru", keyword, sentence) == russian
    assert step_text("en", keyword, sentence) == f"{keyword} {sentence}"


def test_every_step_of_the_stock_library_has_a_russian_sentence() -> None:
    import re

    source = (Path(__file__).resolve().parents[1] / "features" / "steps" / "stock.py").read_text(encoding="utf-8")
    literal = re.findall(r'@(?:given|when|then)\("([^"]+)"\)', source)
    for sentence in literal:
        assert any(re.fullmatch(pattern, sentence) for pattern, _ in STEPS_RU), sentence


def test_a_paced_wait_overwrites_one_line_on_a_terminal_and_prints_lines_elsewhere() -> None:
    narrator, _ = narrate("en", tty=True)
    narrator.out = io.StringIO()
    narrator.out.isatty = lambda: True  # type: ignore[method-assign]
    narrator.waiting(1000)
    narrator.say("next line")
    assert narrator.out.getvalue().startswith("\r") and "waiting: 0:16:40, next order history at 0:20:00" in \
        narrator.out.getvalue()
    assert "\r\x1b[K" in narrator.out.getvalue()  # the waiting line is cleared before the next one


def timeline_with_a_failed_check() -> Timeline:
    timeline = Timeline()
    for event in c1_like():
        timeline.record(event)
    timeline.check(Check(0, 0, "crm", "SKU-1", 8, 8, True, "the CRM stock is 8 at once"))
    timeline.check(Check(900, 900, "woo", "SKU-1", 10, 8, False, "the shop stock becomes 10 within 15 minutes"))
    return timeline


def test_the_chart_marks_failed_checks_and_every_job_lane() -> None:
    svg = charts.svg(charts.stock_chart(timeline_with_a_failed_check(), "C1"))
    for text in ("CRM", "WooCommerce", "expected (check held)", "expected (check FAILED)", "actual at the check",
                 "stock sync", "order history", "catalog file", "catalog import", "CRM order"):
        assert text in svg, text
    assert charts.svg(charts.stock_chart(timeline_with_a_failed_check(), "C1")) == svg  # deterministic


def test_the_report_without_matplotlib_says_it_has_no_charts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib now raises ImportError
    record = {"nodeid": "f::t", "outcome": "failed", "error": "E   AssertionError: the shop stock was 8",
              "feature": {"name": "F", "rel_filename": "features/f.feature", "line": 1, "description": "", "tags": []},
              "scenario": {"name": "S", "line": 3, "description": "", "keyword": "Scenario", "tags": ["C1"]},
              "steps": [{"keyword": "Then", "name": "x", "line": 4, "status": "failed", "duration": 0.1}],
              "timeline": timeline_with_a_failed_check().document("C1", "S")}
    write_index(tmp_path / "index.html", [record])
    page = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert "No charts: charts need matplotlib" in page and "<svg" not in page
    assert "the shop stock becomes 10 within 15 minutes" in page and "FAILED" in page
    assert "AssertionError: the shop stock was 8" in page


def test_a_chart_drawn_in_the_drawing_process_is_the_one_drawn_here() -> None:
    """The report's charts are drawn in a spawned process while the scenarios run; same bytes."""
    document = timeline_with_a_failed_check().document("C1", "S")
    drawer = ChartDrawer()
    try:
        drawer.submit(document, "S")
        assert drawer._pool is not None  # noqa: SLF001 - a process was started for it
        drawn_there = drawer.svg(document, "S")
    finally:
        drawer.close()
    assert drawn_there is not None and drawn_there == chart_svg(document, "S")
    assert "expected (check FAILED)" in drawn_there


def test_a_chart_the_drawing_process_could_not_take_is_drawn_here(monkeypatch: pytest.MonkeyPatch) -> None:
    import concurrent.futures

    def refuse(*args: object, **kwargs: object) -> None:
        raise RuntimeError("cannot schedule new futures after shutdown")

    monkeypatch.setattr(concurrent.futures.ProcessPoolExecutor, "submit", refuse)
    document = timeline_with_a_failed_check().document("C1", "S")
    drawer = ChartDrawer()
    drawer.submit(document, "S")
    drawer.submit(document, "S")  # not tried again
    assert drawer.svg(document, "S") == chart_svg(document, "S") and drawer.note == ""
