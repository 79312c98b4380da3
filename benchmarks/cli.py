"""``stocksim bench``: the three measurements side by side, a table (or ``--json``) against the goals."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from benchmarks.common import BenchError, machine, peak_rss_bytes, progress, require_pyinstrument

MEASUREMENTS = ("suite", "month", "request")
#: The goals of issue 9.
SUITE_GOAL = 100_000.0  # times faster than real time
MONTH_GOAL_SECONDS = 60.0
MONTH_GOAL_BYTES = 1024 ** 3
#: The workload the month's goals are set for; a smaller or larger month is measured, not judged.
MONTH_GOAL_WORKLOAD = {"days": 30.0, "offers": 10_000, "orders_per_day_per_side": 1_000.0}
NOT_JUDGED = "n/a: not the goal's workload (30 days, 10,000 offers, 1,000 orders a day)"
REQUEST_GOAL = 1.5  # times the floor


def add_parser(subparsers: Any) -> None:
    """Registers ``bench`` on the CLI's subparsers (``argparse._SubParsersAction``)."""
    parser = subparsers.add_parser(
        "bench", help="measure the suite, a month of a big shop and the cost of one request against their goals",
        description="Measure, in one run: (1) the full acceptance suite, wall time against the simulated time "
                    "its scenarios cover (goal: at least 100,000x real time); (2) a month of a big shop "
                    "through the same HTTP path as the suite, 10,000 offers in 3 warehouses, 30 days, orders "
                    "at random (seeded) on both sides, every job at its default cadence (goal: at most 60 s "
                    "and 1 GB); (3) the cost of one request to each fake against a minimal server answering "
                    "the same bytes (goal: at most 1.5x). Progress goes to stderr; the table (or --json) to stdout.")
    parser.add_argument("--only", type=_only, default=MEASUREMENTS, metavar="LIST",
                        help="comma-separated subset of: suite,month,request (default: all three)")
    parser.add_argument("--json", action="store_true", help="print one JSON document on stdout instead of the table")
    parser.add_argument("--days", type=_positive(float), default=30.0, metavar="N",
                        help="simulated days of the month (default: 30)")
    parser.add_argument("--offers", type=_positive(int), default=10_000, metavar="N",
                        help="offers of the month's shop (default: 10000)")
    parser.add_argument("--orders-per-day", type=_positive(float, zero=True), default=1_000.0, metavar="N",
                        help="orders a day on each side, site checkouts and CRM orders (default: 1000)")
    parser.add_argument("--repetitions", type=_positive(int), default=300, metavar="N",
                        help="timed requests per request kind, for the fake and for its floor (default: 300)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the month's order arrivals (default: 2026)")
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR",
                        help="write pyinstrument profiles (HTML and text) of each measurement into DIR "
                             "(needs the 'bench' extra: pip install 'stocksim[bench]')")
    parser.set_defaults(func=bench)


def _only(text: str) -> tuple[str, ...]:
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    unknown = [n for n in names if n not in MEASUREMENTS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"expected a comma-separated subset of {','.join(MEASUREMENTS)}, got {text!r}")
    return tuple(n for n in MEASUREMENTS if n in names)


def _positive(kind: type, zero: bool = False) -> Any:
    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value < 0 or (value == 0 and not zero):
            raise argparse.ArgumentTypeError(f"expected a number {'>= 0' if zero else '> 0'}, got {text!r}")
        return value
    return parse


def bench(args: argparse.Namespace) -> int:
    try:
        if args.profile is not None:
            require_pyinstrument()
            args.profile.mkdir(parents=True, exist_ok=True)
        report: dict[str, Any] = {"machine": machine(), "goals": {
            "suite_times_real_time": SUITE_GOAL, "month_seconds": MONTH_GOAL_SECONDS, "month_bytes": MONTH_GOAL_BYTES,
            "request_ratio": REQUEST_GOAL}}
        if "suite" in args.only:
            from benchmarks import suite
            report["suite"] = suite.run(args.profile)
        if "month" in args.only:
            report["month"] = run_month(args)
        if "request" in args.only:
            from benchmarks import request_cost
            progress(f"request: {args.repetitions} requests of each kind to each fake and to its floor")
            report["request"] = request_cost.run(args.repetitions, args.profile)
    except BenchError as exc:
        print(f"stocksim bench: {exc}", file=sys.stderr)
        return 2
    rows = table_rows(report)
    report["verdicts"] = [dict(zip(("measurement", "figure", "goal", "ratio", "verdict"), row)) for row in rows]
    report["all_met"] = all(row[-1] == "met" for row in rows)
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(render(rows, report["machine"]))
    return 0


def run_month(args: argparse.Namespace) -> dict[str, Any]:
    """The month in a child process, so its peak RSS is its own."""
    command = [sys.executable, "-m", "benchmarks.month", "--days", str(args.days), "--offers", str(args.offers),
               "--orders-per-day", str(args.orders_per_day), "--seed", str(args.seed)]
    if args.profile is not None:
        command += ["--profile", str(args.profile)]
    progress(f"month: {args.offers} offers, 3 warehouses, {args.days:g} days, {args.orders_per_day:g} orders/day "
             "on each side, in a child process")
    done = subprocess.run(command, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
    lines = [line for line in done.stdout.splitlines() if line.strip()]
    try:
        result = json.loads(lines[-1])
    except (IndexError, ValueError):
        raise BenchError(f"the month's child process ended with code {done.returncode} and no figures") from None
    if "error" in result:
        raise BenchError(f"month: {result['error']}")
    result["child_peak_rss_bytes_seen_by_parent"] = peak_rss_bytes(__import__("resource").RUSAGE_CHILDREN)
    if not result["check"]["ok"]:
        progress(f"month: the correctness check FAILED: {result['check']}")
    return result


def table_rows(report: dict[str, Any]) -> list[tuple[str, str, str, str, str]]:
    rows: list[tuple[str, str, str, str, str]] = []
    verdict = lambda ok: "met" if ok else "MISSED"  # noqa: E731
    if "suite" in report:
        s = report["suite"]
        ok = s["ratio"] >= SUITE_GOAL and s["failed"] == 0
        rows.append(("suite: simulated / wall",
                     f"{s['simulated_seconds'] / 3600:,.1f} h simulated in {s['process_wall_seconds']:.1f} s "
                     f"({s['scenarios']} scenarios, {s['passed']} passed, {s['failed']} failed)",
                     f">= {SUITE_GOAL:,.0f}x", f"{s['ratio']:,.0f}x", verdict(ok)))
    if "month" in report:
        m = report["month"]
        checked = "check ok" if m["check"]["ok"] else "CHECK FAILED"
        judged = all(m.get(name) == value for name, value in MONTH_GOAL_WORKLOAD.items())
        month_verdict = (lambda ok: verdict(ok) if judged else NOT_JUDGED)  # noqa: E731
        rows.append((f"month: wall ({m['offers']} offers, {m['days']:g} days)",
                     f"{m['wall_seconds']:.1f} s (setup {m['setup_seconds']:.1f} s + simulation "
                     f"{m['month_seconds']:.1f} s; {m['check']['orders_placed']} orders; {checked})",
                     f"<= {MONTH_GOAL_SECONDS:.0f} s", f"{m['wall_seconds'] / MONTH_GOAL_SECONDS:.2f}x goal",
                     # a month whose check failed measured nothing worth a verdict either way
                     month_verdict(m["wall_seconds"] <= MONTH_GOAL_SECONDS) if m["check"]["ok"] else "MISSED"))
        rows.append(("month: peak memory", f"{m['peak_rss_bytes'] / 1024 ** 2:,.0f} MiB RSS",
                     "<= 1024 MiB", f"{m['peak_rss_bytes'] / MONTH_GOAL_BYTES:.2f}x goal",
                     month_verdict(m["peak_rss_bytes"] <= MONTH_GOAL_BYTES)))
    if "request" in report:
        for r in report["request"]["requests"]:
            rows.append((f"request: {r['name']}", f"{r['fake_us']:,.0f} us vs floor {r['floor_us']:,.0f} us",
                         f"<= {REQUEST_GOAL}x floor", f"{r['ratio']:.2f}x", verdict(r["ratio"] <= REQUEST_GOAL)))
    return rows


def render(rows: list[tuple[str, str, str, str, str]], host: dict[str, Any]) -> str:
    header = ("measurement", "figure", "goal", "ratio", "verdict")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    machine_line = (f"machine: {host['cpus']} CPUs, {host['cpu_model']}, {host['implementation']} {host['python']}, "
                    f"{host['system']}")
    return "\n".join(["stocksim bench", machine_line, "", line(header), line(tuple("-" * w for w in widths))]
                     + [line(r) for r in rows])
