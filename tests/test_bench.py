"""``stocksim bench``: a smoke run at tiny sizes checks the JSON shape and that the month was checked.

No timing is asserted: figures depend on the machine; only their presence and the
correctness check of the month are.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from benchmarks import cli as bench_cli
from sim.cli import build_parser


def test_bench_smoke_json() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "sim.cli", "bench", "--only", "month,request", "--days", "1", "--offers", "50",
         "--orders-per-day", "20", "--repetitions", "5", "--json"],
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)  # stdout is one JSON document; progress went to stderr
    assert "[bench] month:" in done.stderr
    assert set(report) >= {"machine", "goals", "month", "request", "verdicts", "all_met"}
    assert "suite" not in report

    month = report["month"]
    assert month["offers"] == 50 and month["warehouses"] == 3 and month["simulated_seconds"] == 86_400
    assert month["check"]["ok"], month["check"]
    assert month["check"]["orders_placed"] > 0
    assert month["check"]["crm_orders"] == month["check"]["shop_orders"] == month["check"]["orders_placed"]
    assert month["peak_rss_bytes"] > 0 and month["wall_seconds"] > 0
    assert month["requests"]["crm"] > 0 and month["requests"]["shop"] > 0

    kinds = [r["name"] for r in report["request"]["requests"]]
    assert len(kinds) == 4 and any("inventories" in k for k in kinds) and any("order create" in k for k in kinds)
    for row in report["request"]["requests"]:
        assert row["fake_us"] > 0 and row["floor_us"] > 0 and row["ratio"] > 0 and row["status"] < 400
    verdicts = [v["verdict"] for v in report["verdicts"]]
    # One day of 50 offers is not the goal's month: measured, not judged.
    assert verdicts[:2] == [bench_cli.NOT_JUDGED] * 2 and not report["all_met"]
    assert all(v in ("met", "MISSED") for v in verdicts[2:])


def test_month_is_deterministic_in_what_it_does() -> None:
    """The same seed places the same orders: the arrivals are seeded, never from the wall clock."""
    from benchmarks import month

    first = month.run(days=0.1, offers=10, orders_per_day=100, seed=7)
    second = month.run(days=0.1, offers=10, orders_per_day=100, seed=7)
    assert first["check"]["ok"] and second["check"]["ok"]
    assert first["orders"] == second["orders"] and first["check"]["units_ordered"] == second["check"]["units_ordered"]


@pytest.mark.parametrize("argv, message", [
    (["bench", "--only", "suite,nope"], "subset of suite,month,request"),
    (["bench", "--days", "0"], "> 0"),
])
def test_bench_refuses_bad_options(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(argv)
    assert message in capsys.readouterr().err


def test_bench_options_parse() -> None:
    args = build_parser().parse_args(["bench", "--only", "request,month", "--offers", "10", "--orders-per-day", "0"])
    assert args.only == ("month", "request") and args.offers == 10 and args.orders_per_day == 0
    assert args.func is bench_cli.bench


def test_table_rows_give_a_verdict_per_goal() -> None:
    report = {"month": {"offers": 10_000, "days": 30.0, "orders_per_day_per_side": 1_000.0, "wall_seconds": 61.0,
                        "setup_seconds": 1.0, "month_seconds": 60.0, "peak_rss_bytes": 10 * 1024 ** 2,
                        "check": {"ok": True, "orders_placed": 3}},
              "request": {"requests": [{"name": "x", "fake_us": 3.0, "floor_us": 2.0, "ratio": 1.5}]}}
    rows = bench_cli.table_rows(report)
    assert [r[-1] for r in rows] == ["MISSED", "met", "met"]
    report["month"]["days"] = 1.0  # a shorter month: measured, not judged
    assert [r[-1] for r in bench_cli.table_rows(report)] == [bench_cli.NOT_JUDGED] * 2 + ["met"]
    report["month"]["check"]["ok"] = False  # a failed check is never a pass
    assert bench_cli.table_rows(report)[0][-1] == "MISSED"
