"""``stocksim demo``: every case narrated, its JSON valid against the documented schema, its chart and page written.

Each demo runs in its own process, as a trainer runs it: the real command, the embedded fakes, the case's own
scenario. All cases start at once (the module fixture) so the module costs about one demo per core.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Iterator

import jsonschema
import pytest

from sim.demo import demo_cases, find_case
from sim.timeline import JOB_KINDS, timeline_schema

CASE_NAMES = [d.name for d in demo_cases()]
DOCS = Path(__file__).resolve().parents[1] / "docs" / "timeline.md"


def stocksim(*args: str, cwd: Path | None = None) -> subprocess.Popen[str]:
    env = {**os.environ, "NO_COLOR": "1"}
    return subprocess.Popen([sys.executable, "-m", "sim.cli", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, cwd=cwd, env=env)


def finish(process: subprocess.Popen[str]) -> tuple[int, str, str]:
    out, err = process.communicate(timeout=300)
    return process.returncode, out, err


@pytest.fixture(scope="module")
def json_runs() -> dict[str, tuple[int, str, str]]:
    """``stocksim demo NAME --json`` for every case, started together."""
    running = {name: stocksim("demo", name, "--json") for name in CASE_NAMES}
    return {name: finish(process) for name, process in running.items()}


def test_list_names_every_case_and_branch() -> None:
    code, out, _ = finish(stocksim("demo", "--list"))
    assert code == 0
    names = re.findall(r"^(\S+)\s{2,}stock kept", out, re.M)
    assert names == CASE_NAMES
    assert {"C1", "C3-auto-cancel-off", "W1-auto-cancel-on", "C-pre-items-cancelled"} <= set(names)
    assert len(names) == 10


@pytest.mark.parametrize("name", CASE_NAMES)
def test_json_of_every_case_matches_the_documented_schema(json_runs: dict[str, tuple[int, str, str]], name: str) -> None:
    code, out, err = json_runs[name]
    assert code == 0, err[-2000:]
    document = json.loads(out)  # stdout holds the JSON document and nothing else
    jsonschema.validate(document, timeline_schema(), format_checker=jsonschema.FormatChecker())
    assert document["case"] == name and document["result"] == "passed"
    times = [e["t"] for e in document["events"]]
    assert times == sorted(times)
    kinds = {e["kind"] for e in document["events"]}
    assert {"sync.inventories", "sync.history"} <= kinds and any(k.startswith("action.") for k in kinds)
    assert all(check["ok"] for check in document["checks"]) and document["checks"]


def test_the_schema_rejects_what_the_docs_forbid() -> None:
    """The schema is a real constraint, not a formality: a wrong kind, a missing stock side, unsorted ``at``."""
    good = {"case": "C1", "scenario": "x", "start": "2026-01-05T09:00:00", "events": [
        {"t": 0, "at": "2026-01-05T09:00:00", "system": "connector", "kind": "sync.inventories", "detail": "",
         "stock": {"crm": {"SKU-1": 8}, "woo": {"SKU-1": None}}}]}
    jsonschema.validate(good, timeline_schema())
    for broken in (
        {**good, "events": [{**good["events"][0], "kind": "inventories"}]},
        {**good, "events": [{**good["events"][0], "stock": {"crm": {}}}]},
        {**good, "events": [{**good["events"][0], "at": "09:00"}]},
        {k: v for k, v in good.items() if k != "start"},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, timeline_schema())


def test_the_docs_describe_every_field_and_kind_of_the_schema() -> None:
    docs = DOCS.read_text(encoding="utf-8")
    schema = timeline_schema()
    for field in list(schema["properties"]) + list(schema["$defs"]["event"]["properties"]):
        assert f"`{field}`" in docs, field
    for kind in JOB_KINDS.values():
        assert f"`{kind}`" in docs, kind


def test_c1_narration_says_when_and_why_the_shop_stock_changes(tmp_path: Path) -> None:
    code, out, err = finish(stocksim("demo", "C1", "--out", str(tmp_path)))
    assert code == 0, err[-2000:]
    lines = out.splitlines()
    # The order is written off in the CRM at once; the shop follows at the next stock sync (15 minutes), then
    # the item cancel returns the CRM stock at once and the shop gets it back at the following stock sync.
    changes = [line.strip() for line in lines if "->" in line and "stock of" in line]
    assert [re.sub(r"SKU-\d+", "SKU", c) for c in changes] == [
        "-> CRM stock of SKU: 10 -> 8",
        "-> shop stock of SKU: 10 -> 8",
        "-> CRM stock of SKU: 8 -> 10",
        "-> shop stock of SKU: 8 -> 10",
    ]
    shop_changes = [i for i, line in enumerate(lines) if "-> shop stock of" in line]
    causes = [next(lines[j] for j in range(i, -1, -1) if re.match(r"^\s*\d+:\d\d:\d\d", lines[j])) for i in shop_changes]
    assert [c.split()[0] for c in causes] == ["0:15:00", "0:30:00"]
    assert all("stock sync (module)" in c for c in causes)
    # Why: the first stock sync explains itself; what is due next is always said.
    assert any("every 15 min the module reads the CRM's stock" in line for line in lines)
    assert any("next: " in line and "stock sync 0:15:00" in line for line in lines)
    assert "S23: C1: WooCommerce's stock is updated within 15 minutes." in out
    assert "Every check of the scenario held" in out


def test_out_writes_a_chart_as_png_and_svg_and_a_self_contained_page(tmp_path: Path) -> None:
    code, _, err = finish(stocksim("demo", "C3-auto-cancel-off", "--out", str(tmp_path)))
    assert code == 0, err[-2000:]
    png = (tmp_path / "C3-auto-cancel-off.png").read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    svg = (tmp_path / "C3-auto-cancel-off.svg").read_text(encoding="utf-8")
    for label in ("CRM", "WooCommerce", "stock sync", "order history", "shop order status", "expected (check held)"):
        assert label in svg, label
    page = (tmp_path / "C3-auto-cancel-off.html").read_text(encoding="utf-8")
    assert "<svg" in page and "src=" not in page and "href=\"http" not in page  # nothing to fetch
    assert "stock sync (module)" in page  # the narration is on the page
    document = json.loads((tmp_path / "C3-auto-cancel-off.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, timeline_schema())


def test_russian_narration(tmp_path: Path) -> None:
    code, out, err = finish(stocksim("demo", "C1", "--lang", "ru"))
    assert code == 0, err[-2000:]
    assert "Информация по остаткам из CRM в WooCommerce обновляется раз в 15 минут." in out  # the document's own words
    assert "синхронизация остатков (модуль)" in out and "каждые 15 мин модуль читает остатки из CRM" in out
    assert "Когда менеджер CRM оформляет заказ на 2 шт." in out
    assert "Все проверки сценария выполнены" in out
    assert "stock sync" not in out and "Every check" not in out


def test_a_what_if_that_breaks_the_case_fails_the_demo_and_says_so() -> None:
    code, out, err = finish(stocksim("demo", "C1", "--sim-param", "inventories_interval=1200", "--json"))
    assert code == 1
    document = json.loads(out)
    assert document["result"] == "failed"
    failed = [c for c in document["checks"] if not c["ok"]]
    assert failed and failed[0]["expected"] == 10 and failed[0]["actual"] == 8
    assert "The scenario FAILED" in err and "it became 10 only at 0:40:00" in err


@pytest.mark.parametrize(("args", "message"), [
    (("demo", "C9"), "unknown case 'C9'; known: W1-auto-cancel-on"),
    (("demo", "C3"), "C3 has branches; choose one: C3-auto-cancel-on, C3-auto-cancel-off"),
    (("demo",), "name a case"),
    (("demo", "C1", "--speed", "0"), "must be a number greater than 0"),
    (("demo", "C1", "--lang", "de"), "invalid choice: 'de'"),
    (("demo", "C1", "--out", "/proc/stocksim-demo"), "cannot write to --out /proc/stocksim-demo"),
])
def test_usage_errors_are_clear(args: tuple[str, ...], message: str) -> None:
    code, out, err = finish(stocksim(*args))
    assert code == 2
    assert message in err and "Traceback" not in err


def test_case_names_are_found_whatever_their_case() -> None:
    assert find_case("c3-AUTO-cancel-off").name == "C3-auto-cancel-off"
    assert find_case("C-pre_items_cancelled").name == "C-pre-items-cancelled"


def test_a_paced_simulation_uses_simpys_realtime_environment_non_strict(stocksim_target: Iterator) -> None:
    import simpy.rt

    from sim.simulation import Simulation

    sim = Simulation(stocksim_target, speed=60)
    assert isinstance(sim.env, simpy.rt.RealtimeEnvironment)
    assert sim.env.factor == pytest.approx(1 / 60) and sim.env.strict is False
    assert type(Simulation(stocksim_target).env) is __import__("simpy").Environment
