"""The ``stocksim`` command line."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import pytest

from benchmarks import cli as bench_cli
from sim import demo, serve
from sim.demo import unwritable
from sim.cases import (CASES, FEATURES_DIR, STATEMENTS, Case, Statement, coverage, properties_for,
                       statement_coverage)
from sim.targets import DOCKER_HELP, DOCKER_OPTIONS
from sim.timeline import clock_text


class CaseResults:
    """A pytest plugin that remembers each scenario's tags, outcome and simulated time."""

    def __init__(self) -> None:
        self.tags: dict[str, set[str]] = {}
        self.outcome: dict[str, str] = {}
        self.sim_seconds: dict[str, float] = {}
        self.known_tags = {c.tag for c in CASES} | {c.branch_tag for c in CASES if c.branch_tag}

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        self.tags[item.nodeid] = {m.name for m in item.iter_markers()}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Under xdist the controller collects nothing: a report's keywords carry the scenario's tags.
        self.tags.setdefault(report.nodeid, {k for k in report.keywords if k in self.known_tags})
        if report.when == "call" or report.outcome != "passed":
            if self.outcome.get(report.nodeid) != "failed":
                self.outcome[report.nodeid] = report.outcome
        for name, value in report.user_properties:
            if name == "sim_seconds":
                self.sim_seconds[report.nodeid] = float(value)

    def for_case(self, case: Case) -> list[str]:
        return [n for n, tags in self.tags.items() if case.tag in tags and (not case.branch_tag or case.branch_tag in tags)]


def case_table(results: CaseResults) -> tuple[str, bool]:
    rows = []
    all_passed = True
    for case in CASES:
        nodes = results.for_case(case)
        outcomes = [results.outcome.get(n, "not run") for n in nodes]
        if not nodes:
            status = "NO SCENARIO"
        elif all(o == "passed" for o in outcomes):
            status = "passed"
        elif any(o == "failed" for o in outcomes):
            status = "FAILED"
        else:
            status = ", ".join(sorted(set(outcomes)))
        # A scenario skipped with a reason (e.g. one the docker target cannot run) is reported, not failed.
        all_passed &= status in ("passed", "skipped")
        covered = sum(results.sim_seconds.get(n, 0.0) for n in nodes)
        rows.append((case.id, case.branch or "-", status, str(len(nodes)), clock_text(covered)))
    header = ("case", "branch", "result", "scenarios", "simulated")
    widths = [max(len(r[i]) for r in rows + [header]) for i in range(len(header))]
    line = lambda r: "  ".join(c.ljust(w) for c, w in zip(r, widths))  # noqa: E731
    return "\n".join([line(header), line(tuple("-" * w for w in widths))] + [line(r) for r in rows]), all_passed


#: The plugins a scenario run needs, loaded by name: autoloading every installed plugin (schemathesis,
#: hypothesis, ...) cost seconds per run and added nothing.
SCENARIO_PLUGINS = ("--disable-plugin-autoload", "-p", "pytest_bdd.plugin", "-p", "sim.pytest_plugin")


def run(args: argparse.Namespace) -> int:
    report_dir = Path(args.report)
    problem = unwritable(report_dir)
    if problem:
        print(f"stocksim run: cannot write the reports to {report_dir}: {problem}", file=sys.stderr)
        return 2
    results = CaseResults()
    started = time.perf_counter()
    code = pytest.main(run_pytest_args(args), plugins=[results])
    wall = time.perf_counter() - started
    table, all_passed = case_table(results)
    simulated = sum(results.sim_seconds.values())
    print("\nstocksim: documented cases\n" + table)
    print(f"\nsimulated {clock_text(simulated)} in {wall:.2f} s of wall time "
          f"({simulated / wall:,.0f}x real time); reports in {report_dir}/ (junit.xml, cucumber.json, index.html)")
    if code == 0 and not all_passed and not args.k:
        return 1
    return int(code)


def run_pytest_args(args: argparse.Namespace) -> list[str]:
    """The pytest command line of ``stocksim run`` (the benchmark of the suite runs the same)."""
    report_dir = Path(args.report)
    pytest_args = [
        str(FEATURES_DIR), "--rootdir", str(FEATURES_DIR), "-p", "no:cacheprovider", *SCENARIO_PLUGINS,
        # xunit1: the family whose schema has per-test <properties> (sim_seconds, oversold_units, ...)
        f"--junitxml={report_dir / 'junit.xml'}", "-o", "junit_family=xunit1", "--stocksim-report", str(report_dir),
        "-q" if not args.verbose else "-v",
    ]
    if args.workers:
        pytest_args += ["-p", "xdist.plugin", "-n", str(args.workers)]
    for value in args.sim_param:
        pytest_args += ["--sim-param", value]
    for value in args.crm_setting:
        pytest_args += ["--crm-setting", value]
    if args.k:
        pytest_args += ["-k", args.k]
    if args.timeline:
        pytest_args.append("--sim-timeline")
    if args.exitfirst:
        pytest_args.append("-x")
    return pytest_args + target_args(args)


#: ``stocksim run`` options passed on to the pytest plugin for the docker target.
DOCKER_RUN_OPTIONS = tuple(DOCKER_OPTIONS)


def target_args(args: argparse.Namespace) -> list[str]:
    """Nothing for the default target, so a plain ``stocksim run`` runs exactly as before."""
    if args.target == "fakes":
        return []
    extra = ["--stocksim-target", args.target]
    for name in DOCKER_RUN_OPTIONS:
        value = getattr(args, name)
        if value is not None:
            extra += ["--" + name.replace("_", "-"), value]
    return extra


def add_target_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--target", choices=("fakes", "docker"), default="fakes",
                        help="fakes: the embedded fakes (default); docker: the real WordPress stack of "
                             "docker-compose.yml with the fake CRM (README: 'Against a real WooCommerce')")
    group = parser.add_argument_group("docker target (defaults from the environment, see .env.example)")
    for name in DOCKER_RUN_OPTIONS:
        env, default = DOCKER_OPTIONS[name]
        group.add_argument("--" + name.replace("_", "-"), metavar="VALUE",
                           help=f"{DOCKER_HELP[name]} (env {env}" + (f", default {default})" if default else ")"))


def cases(args: argparse.Namespace) -> int:
    """Every statement of the source document, then every case and branch, each with its scenarios.

    Exits 1 when a statement or a case has no scenario, and says which.
    """
    # Read at call time, so a test can point the command at another folder of feature files.
    uncovered = print_statements(FEATURES_DIR)
    missing = print_cases(FEATURES_DIR)
    if uncovered:
        print("\nstatements without a scenario: " + "; ".join(f"{st.id} (claim it with {st.claim_text()})"
                                                             for st in uncovered))
    return 1 if uncovered or missing else 0


def print_statements(features_dir: Path) -> list[Statement]:
    """One block per statement: id, English, the Russian source, how to claim it, what covers it."""
    uncovered: list[Statement] = []
    print("stocksim: statements of the source document (setting-stock.ru.md; the Russian text wins)\n")
    for statement, refs in statement_coverage(features_dir):
        print(f"{statement.id:<4} {statement.text}")
        print(f"     ru: {statement.when + ' → ' if statement.when else ''}{statement.source}")
        print(f"     claimed by: {statement.claim_text()}")
        for ref in refs:
            print(f"     - {ref.feature}: {ref.name}")
        for name in properties_for(statement):
            print(f"     - property: test_properties.py::{name}")
        if not refs:
            uncovered.append(statement)
            print("     (NO SCENARIO covers this statement)")
    covered = len(STATEMENTS) - len(uncovered)
    print(f"\n{len(STATEMENTS)} statements, {covered} covered, {len(uncovered)} without a scenario")
    return uncovered


def print_cases(features_dir: Path) -> int:
    """The table rows and their branches, as before; returns how many have no scenario."""
    missing = 0
    print("\nstocksim: documented cases and branches\n")
    for case, refs in coverage(features_dir):
        print(f"{case.label}: {case.statement}")
        for ref in refs:
            print(f"    {ref.feature}: {ref.name}")
        if not refs:
            missing += 1
            print("    (no scenario covers this case)")
    print(f"\n{len(CASES)} cases and branches, {len(CASES) - missing} covered, {missing} without a scenario")
    return missing


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stocksim",
        description="Scenario simulator and acceptance suite for RetailCRM <-> WooCommerce stock synchronisation.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p_run = sub.add_parser("run", help="run the acceptance suite against the embedded fakes",
                           description="Run every scenario in simulated time against fake CRM and shop servers "
                                       "on 127.0.0.1, then print a table of the documented cases.")
    p_run.add_argument("--report", default="reports", metavar="DIR",
                       help="where to write junit.xml (JUnit XML), cucumber.json (cucumber JSON) and index.html "
                            "(each scenario's steps, timeline and chart) (default: ./reports)")
    p_run.add_argument("-n", "--workers", type=_workers, default=None, metavar="N",
                       help="run scenarios in N processes (pytest-xdist, a test extra; 'auto': one per core); "
                            "the reports are the same")
    p_run.add_argument("-k", metavar="EXPR", help="only scenarios matching this pytest -k expression (e.g. C1)")
    p_run.add_argument("--sim-param", action="append", default=[], metavar="NAME=SECONDS",
                       help="override a schedule parameter, e.g. inventories_interval=1200 (repeatable)")
    p_run.add_argument("--crm-setting", action="append", default=[], metavar="NAME=JSON",
                       help="override a fake CRM setting, e.g. auto_cancel_items=false (repeatable)")
    p_run.add_argument("--timeline", action="store_true", help="print every scenario's timeline, not only failures'")
    p_run.add_argument("-x", "--exitfirst", action="store_true", help="stop at the first failing scenario")
    p_run.add_argument("-v", "--verbose", action="store_true", help="one line per scenario")
    add_target_arguments(p_run)
    p_run.set_defaults(func=run)

    p_cases = sub.add_parser("cases", help="list every statement of the source document, and every case "
                                          "and branch, with the scenarios covering them")
    p_cases.set_defaults(func=cases)

    demo.add_parser(sub)
    serve.add_parser(sub)
    bench_cli.add_parser(sub)
    return parser


def _workers(raw: str) -> str:
    if raw != "auto" and not (raw.isdigit() and int(raw) > 0):
        raise argparse.ArgumentTypeError(f"expected a number of processes or 'auto', got {raw!r}")
    try:
        import xdist  # noqa: F401
    except ImportError:
        raise argparse.ArgumentTypeError("needs pytest-xdist: pip install 'stocksim[test]'") from None
    return raw


def main(argv: Sequence[str] | None = None) -> Any:
    args = build_parser().parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
