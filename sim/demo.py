"""``stocksim demo CASE``: run one documented case and narrate it as it happens.

The demo runs the case's own scenario (the one in stock_kept_on_site.feature or
stock_kept_in_crm.feature), through the same pytest-bdd steps, fakes and clock
as the suite; it only listens: a ``Narrator`` prints every event and step, and
the timeline becomes JSON, a chart and an HTML page on request.
"""

from __future__ import annotations

import argparse
import io
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generator, TextIO

import pytest

from sim.cases import CASES, FEATURES_DIR, STATEMENTS, Case, coverage
from sim.narration import LANGS, Narrator, text
from sim.timeline import clock_text

#: The feature files that hold each mode's table rows: a case's demo runs its scenario from one of these.
HOME_FEATURES = ("stock_kept_on_site.feature", "stock_kept_in_crm.feature")
SCENARIOS_MODULE = FEATURES_DIR / "test_documented_cases.py"


@dataclass(frozen=True)
class DemoCase:
    name: str  # C1, C3-auto-cancel-off, C-pre-items-cancelled
    case: Case
    feature: str
    scenario: str

    @property
    def tags(self) -> set[str]:
        return {self.case.tag} | ({self.case.branch_tag} if self.case.branch_tag else set())


def case_name(case: Case) -> str:
    """``C1``; with a branch, its tag in dashes: ``C3-auto-cancel-off``, ``C-pre-items-cancelled``."""
    return case.id + ("-" + case.branch_tag.replace("_", "-") if case.branch_tag else "")


def case_name_for_tags(tags: set[str]) -> str | None:
    return next((case_name(c) for c in CASES if c.tag in tags and (not c.branch_tag or c.branch_tag in tags)), None)


def demo_cases() -> list[DemoCase]:
    found = []
    for case, refs in coverage(FEATURES_DIR):
        home = next((r for r in refs if r.feature in HOME_FEATURES), None)
        if home is not None:
            found.append(DemoCase(case_name(case), case, home.feature, home.name))
    return found


def find_case(name: str) -> DemoCase:
    cases = demo_cases()
    wanted = name.strip().lower().replace("_", "-")
    for demo in cases:
        if demo.name.lower() == wanted:
            return demo
    branches = [d.name for d in cases if d.case.id.lower() == wanted]
    if branches:
        raise LookupError(f"{name} has branches; choose one: {', '.join(branches)}")
    raise LookupError(f"unknown case {name!r}; known: {', '.join(d.name for d in cases)} (stocksim demo --list)")


def document_says(demo: DemoCase, lang: str) -> list[str]:
    """The source document's statements this case demonstrates, in English or in the Russian original."""
    lines = []
    for statement in STATEMENTS:
        if statement.covered_by(demo.tags):
            if lang == "ru":
                lines.append(f"{statement.id}: " + (f"{statement.when} → " if statement.when else "") + statement.source)
            else:
                lines.append(f"{statement.id}: {statement.text}")
    return lines


# -- listening to the scenario -------------------------------------------------------------
class Tee(io.TextIOBase):
    """Writes to the terminal and keeps a copy for the HTML page."""

    def __init__(self, terminal: TextIO) -> None:
        self.terminal = terminal
        self.copy = io.StringIO()

    def write(self, text: str) -> int:
        self.terminal.write(text)
        if not text.startswith("\r"):  # the paced clock's ticking line is for the terminal only
            self.copy.write(text)
        return len(text)

    def flush(self) -> None:
        self.terminal.flush()

    def isatty(self) -> bool:
        return self.terminal.isatty()


class DemoPlugin:
    """Keeps only the case's scenario, narrates it, and remembers its simulation and outcome."""

    def __init__(self, demo: DemoCase, lang: str, out: Tee) -> None:
        self.demo = demo
        self.lang = lang
        self.out = out
        self.narrator = Narrator(lang, out)
        self.simulation: Any = None
        self.outcome = "not run"
        self.error = ""

    def pytest_collection_modifyitems(self, config: pytest.Config, items: list[pytest.Item]) -> None:
        keep = [item for item in items if self.is_the_scenario(item)]
        config.hook.pytest_deselected(items=[item for item in items if item not in keep])
        items[:] = keep

    def is_the_scenario(self, item: pytest.Item) -> bool:
        doc = getattr(getattr(item, "obj", None), "__doc__", None) or ""
        markers = {m.name for m in item.iter_markers()}
        return doc.endswith(": " + self.demo.scenario) and self.demo.tags <= markers

    def pytest_stocksim_simulation(self, simulation: Any, item: pytest.Item) -> None:
        self.simulation = simulation
        s = simulation.schedule
        intervals = {"inventories": s.inventories_interval, "history": s.history_interval, "icml": s.icml_interval,
                     "catalog_import": s.catalog_import_interval}
        self.narrator.follow(next_due=lambda: dict(simulation.next_due), intervals=intervals)
        simulation.timeline.listeners.append(self.narrator.on_event)
        if simulation.speed:
            simulation.env.process(self.ticking(simulation))

    def ticking(self, simulation: Any) -> Generator[Any, Any, None]:
        """Between events of a paced run, show the clock moving (each half wall second on a terminal, else each 10)."""
        every = simulation.speed * (0.5 if self.out.isatty() else 10.0)
        while True:
            yield simulation.env.timeout(every)
            if simulation.started and simulation.env.peek() - simulation.env.now >= every:
                self.narrator.waiting(simulation.env.now)

    def pytest_bdd_before_step(self, step: Any) -> None:
        self.narrator.step_started(step.keyword, step.name)

    def pytest_bdd_step_error(self, exception: Exception) -> None:
        self.narrator.step_failed(str(exception))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "call" or report.failed:
            if self.outcome != "failed":
                self.outcome = report.outcome
            if report.failed:
                self.error += report.longreprtext


# -- the command -----------------------------------------------------------------------
def demo(args: argparse.Namespace) -> int:
    if args.list:
        return list_cases()
    if not args.case:
        print("stocksim demo: name a case (stocksim demo --list shows them), e.g. stocksim demo C1", file=sys.stderr)
        return 2
    try:
        chosen = find_case(args.case)
    except LookupError as exc:
        print(f"stocksim demo: {exc}", file=sys.stderr)
        return 2
    if args.out:
        problem = unwritable(Path(args.out))
        if problem:
            print(f"stocksim demo: cannot write to --out {args.out}: {problem}", file=sys.stderr)
            return 2
    # With --json, stdout carries only the JSON document; the narration goes to stderr.
    out = Tee(sys.stderr if args.json else sys.stdout)
    plugin = DemoPlugin(chosen, args.lang, out)
    header(chosen, args, out)
    started = time.perf_counter()
    code = pytest.main(pytest_args(args), plugins=[plugin])
    wall = time.perf_counter() - started
    if plugin.simulation is None:
        print(f"stocksim demo: the scenario did not start (pytest exit {code}){': ' + plugin.error if plugin.error else ''}",
              file=sys.stderr)
        return 2 if code in (2, 3, 4, 5) else 1
    footer(plugin, wall, out)
    document = plugin.simulation.timeline.document(chosen.name, chosen.scenario, feature=f"features/{chosen.feature}",
                                                   result=plugin.outcome)
    if args.json:
        json.dump(document, sys.stdout, ensure_ascii=False, indent=1)
        print()
    if args.out:
        write_outputs(Path(args.out), chosen, document, out.copy.getvalue(), args.lang)
    return 0 if plugin.outcome == "passed" else 1


def unwritable(directory: Path) -> str | None:
    """Why the demo could not write its files to ``directory``, or None: checked before the case runs."""
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = directory / ".stocksim-write-test"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        return exc.strerror or str(exc)
    return None


def pytest_args(args: argparse.Namespace) -> list[str]:
    from sim.cli import SCENARIO_PLUGINS, target_args  # the same plugins and target options as ``stocksim run``

    # Only the plugins a scenario needs, and plain asserts (the steps' messages say everything): loading every
    # installed plugin and rewriting their asserts took ~5 of a demo's 6 seconds.
    extra = [str(SCENARIOS_MODULE), "--rootdir", str(FEATURES_DIR), *SCENARIO_PLUGINS, "--assert=plain",
             "-p", "no:cacheprovider",
             "-s", "-p", "no:terminal", "-o", "addopts=", "-W", "ignore::pytest.PytestUnraisableExceptionWarning"]
    for value in args.sim_param:
        extra += ["--sim-param", value]
    for value in args.crm_setting:
        extra += ["--crm-setting", value]
    if args.speed:
        extra += ["--sim-speed", str(args.speed)]
    return extra + target_args(args)


def header(chosen: DemoCase, args: argparse.Namespace, out: TextIO) -> None:
    say = lambda key, **values: print(text(args.lang, key, **values), file=out)  # noqa: E731
    say("case", case=chosen.name, statement=chosen.case.statement if args.lang == "en" else "")
    say("document")
    for line in document_says(chosen, args.lang):
        print(f"  {line}", file=out)
    say("scenario", scenario=chosen.scenario, feature=f"features/{chosen.feature}")
    if args.speed:
        say("speed.paced", speed=args.speed)
    else:
        say("speed.fast")
    say("legend")
    print(file=out, flush=True)


def footer(plugin: DemoPlugin, wall: float, out: TextIO) -> None:
    narrator = plugin.narrator
    narrator.say()
    for line in narrator.summary():
        narrator.say(line)
    key = "result.passed" if plugin.outcome == "passed" else "result.failed"
    narrator.say()
    narrator.say(narrator.t(key, simulated=clock_text(plugin.simulation.now), wall=wall))
    if plugin.outcome != "passed" and plugin.error:
        narrator.say(plugin.error.strip().splitlines()[-1])


def write_outputs(directory: Path, chosen: DemoCase, document: dict[str, Any], narration: str, lang: str) -> None:
    from sim import charts
    from sim.html_report import demo_page
    from sim.timeline import Timeline

    directory.mkdir(parents=True, exist_ok=True)
    base = directory / chosen.name
    base.with_suffix(".json").write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    chart_svg = None
    try:
        figure = charts.stock_chart(Timeline.from_document(document), f"{chosen.name}: {chosen.scenario}", lang)
    except charts.ChartsUnavailable as exc:
        print(f"stocksim demo: {exc}; writing the page without a chart", file=sys.stderr)
    else:
        base.with_suffix(".png").write_bytes(charts.png(figure))
        base.with_suffix(".svg").write_text(charts.svg(figure), encoding="utf-8")
        chart_svg = charts.inline_svg(figure)
    base.with_suffix(".html").write_text(demo_page(document, narration, chart_svg, lang), encoding="utf-8")
    written = ", ".join(p.name for p in sorted(directory.glob(chosen.name + ".*")))
    print(f"stocksim demo: wrote {written} in {directory}/", file=sys.stderr)


def list_cases() -> int:
    cases = demo_cases()
    width = max(len(d.name) for d in cases)
    print("stocksim demo: the documented cases and branches (stocksim demo NAME runs one)\n")
    for d in cases:
        mode = "stock kept on the site" if d.feature == HOME_FEATURES[0] else "stock kept in the CRM"
        print(f"{d.name:<{width}}  {mode:<22}  {d.case.statement}")
    return 0


def add_parser(sub: Any) -> None:
    from sim.cli import add_target_arguments
    from sim.pace import speed

    p = sub.add_parser(
        "demo", help="run one documented case and narrate it as it happens (training demo)",
        description="Run one documented case (its scenario from the feature files) against the embedded fakes and "
                    "narrate it: the simulated clock, each action, each job run, each system's stock and what is "
                    "due next. Exits 0 when the scenario's checks hold, 1 when one fails, 2 on a usage error.",
    )
    p.add_argument("case", nargs="?", metavar="CASE", help="a case name from --list, e.g. C1 or C3-auto-cancel-off")
    p.add_argument("--list", action="store_true", help="list the cases and branches and exit")
    p.add_argument("--speed", type=speed, default=None, metavar="N",
                   help="pace the clock at N simulated seconds per wall second (e.g. 60: a minute a second); "
                        "default: as fast as possible")
    p.add_argument("--json", action="store_true",
                   help="print the timeline as one JSON document on stdout (schema: docs/timeline.md); "
                        "the narration goes to stderr")
    p.add_argument("--out", metavar="DIR", help="write CASE.png and CASE.svg (chart), CASE.html (chart and "
                                                "narration, self-contained) and CASE.json to DIR")
    p.add_argument("--lang", choices=LANGS, default="en", help="narration language (default: en)")
    p.add_argument("--sim-param", action="append", default=[], metavar="NAME=SECONDS",
                   help="what if: override a schedule parameter, e.g. inventories_interval=300 (repeatable)")
    p.add_argument("--crm-setting", action="append", default=[], metavar="NAME=JSON",
                   help="what if: override a fake CRM setting, e.g. auto_cancel_items=false (repeatable)")
    add_target_arguments(p)
    p.set_defaults(func=demo)
