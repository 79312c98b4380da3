"""The pytest plugin behind the acceptance suite.

It starts the embedded fakes once per run, gives every scenario a fresh
simulation (targets reset, seeded data), lets a run override schedule
parameters and CRM settings from the command line, and attaches the
timeline to every failing scenario.
"""

from __future__ import annotations

import json
import os
import pkgutil
from pathlib import Path
from typing import Any, Generator, Iterator

import pytest

import features.steps as feature_steps

from sim import hookspecs
from sim.cases import all_tags
from sim.pace import speed
from sim.report import RECORD, ReportWriter, outcome, scenario_record
from sim.simulation import Schedule, Simulation, scenario_seed
from sim.targets import DOCKER_HELP, DOCKER_OPTIONS, Credentials, DockerStack, EmbeddedFakes, HttpTarget

#: Every module of features/steps is a step library: a new one needs no registration here.
pytest_plugins = [
    f"features.steps.{module.name}" for module in pkgutil.iter_modules(feature_steps.__path__)
    if module.name != "world"  # the scenario state the step libraries share, not a step library
]

SIMULATION = pytest.StashKey[Simulation]()
SCHEDULE = pytest.StashKey[Schedule]()
CRM_OVERRIDES = pytest.StashKey[dict[str, Any]]()

#: Scenarios tagged @fakes_only need something only the fakes can do; under the docker target they are
#: skipped with this reason.
FAKES_ONLY = "fakes_only"
FAKES_ONLY_REASON = (
    "fakes only: the real plugin's first history run asks the CRM for changes since WordPress's wall clock "
    "minus one day, while the CRM stamps its history on the simulated clock; WordPress's clock cannot be "
    "moved, so the real plugin never reads these CRM changes"
)



def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    pluginmanager.add_hookspecs(hookspecs)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("stocksim", "stocksim simulation")
    group.addoption(
        "--sim-param", action="append", default=[], metavar="NAME=SECONDS",
        help="override a schedule parameter for every scenario, e.g. inventories_interval=1200 "
             "(names: " + ", ".join(f.name for f in Schedule.__dataclass_fields__.values()) + ")",
    )
    group.addoption(
        "--crm-setting", action="append", default=[], metavar="NAME=JSON",
        help="override a fake CRM setting for every scenario, e.g. item_cancel_returns_stock=false",
    )
    group.addoption(
        "--sim-seed", type=int, default=2026, help="base seed for Faker and every random choice (default 2026)",
    )
    group.addoption(
        "--sim-timeline", action="store_true", help="attach the timeline to passing scenarios too",
    )
    group.addoption(
        "--sim-speed", type=speed, default=None, metavar="N",
        help="pace the clock at N simulated seconds per wall second (default: as fast as possible)",
    )
    group.addoption(
        "--stocksim-report", default=None, metavar="DIR",
        help="write DIR/cucumber.json and DIR/index.html (steps, timeline and chart of every scenario); "
             "correct under pytest-xdist too",
    )
    group.addoption(
        "--stocksim-target", choices=("fakes", "docker"), default="fakes",
        help="fakes: the embedded fakes (default); docker: the real WordPress stack of docker-compose.yml "
             "(or anything serving the same control contract) at --crm-url and --shop-url",
    )
    for name, (env, default) in DOCKER_OPTIONS.items():
        group.addoption(
            "--" + name.replace("_", "-"), default=None, metavar="VALUE",
            help=f"docker target: {DOCKER_HELP[name]} (env {env}" + (f", default {default})" if default else ")"),
        )


def pytest_configure(config: pytest.Config) -> None:
    for tag in all_tags():
        config.addinivalue_line("markers", f"{tag}: stocksim case/branch/mode tag")
    config.addinivalue_line("markers", f"{FAKES_ONLY}: a scenario the docker target skips ({FAKES_ONLY_REASON})")
    config.addinivalue_line("markers", "faults: a scenario where the CRM misbehaves towards the connector "
                                       "(features/faults.feature)")
    try:
        config.stash[SCHEDULE] = Schedule.from_pairs(_pairs(config.getoption("sim_param"), "--sim-param"))
    except ValueError as exc:
        raise pytest.UsageError(f"--sim-param: {exc}") from None
    overrides = _pairs(config.getoption("crm_setting"), "--crm-setting")
    config.stash[CRM_OVERRIDES] = {name: _json_value(raw) for name, raw in overrides.items()}
    report_dir = config.getoption("stocksim_report")
    if report_dir and not hasattr(config, "workerinput"):  # xdist workers send their records to the controller
        config.pluginmanager.register(ReportWriter(Path(report_dir)), "stocksim-report")


def _pairs(values: list[str], option: str) -> dict[str, str]:
    pairs: dict[str, str] = {}
    for value in values:
        name, sep, raw = value.partition("=")
        if not sep or not name:
            raise pytest.UsageError(f"{option} expects NAME=VALUE, got {value!r}")
        pairs[name.strip()] = raw.strip()
    return pairs


def _json_value(raw: str) -> Any:
    try:
        return json.loads(raw)
    except json.JSONDecodeError:
        return raw


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("stocksim_target") != "docker":
        return
    skip = pytest.mark.skip(reason=FAKES_ONLY_REASON)
    for item in items:
        if item.get_closest_marker(FAKES_ONLY):
            item.add_marker(skip)


def docker_option(config: pytest.Config, name: str) -> str | None:
    """The command line's value, else the environment's, else the built-in default; '' means none."""
    env, default = DOCKER_OPTIONS[name]
    value = config.getoption(name)
    if value is None:
        value = os.environ.get(env, default)
    return value or None


def docker_target(config: pytest.Config) -> DockerStack:
    from fakes.crm import CONNECTOR_KEY, MANAGER_KEY, SITE_CODE  # the CRM is still our fake, with its keys

    opt = lambda name: docker_option(config, name)  # noqa: E731
    creds = Credentials(crm_url=str(opt("crm_url")).rstrip("/"), shop_url=str(opt("shop_url")).rstrip("/"),
                        connector_key=CONNECTOR_KEY, manager_key=MANAGER_KEY, consumer_key=str(opt("consumer_key")),
                        consumer_secret=str(opt("consumer_secret")), site=SITE_CODE)
    return DockerStack(creds, control_token=opt("control_token"), crm_internal_url=opt("crm_internal_url"),
                       shop_internal_url=opt("shop_internal_url"), compose_project=opt("compose_project"))


@pytest.fixture(scope="session")
def stocksim_target(request: pytest.FixtureRequest) -> Iterator[HttpTarget]:
    target: EmbeddedFakes | DockerStack
    if request.config.getoption("stocksim_target") == "docker":
        target = docker_target(request.config)
        target.check_health()
    else:
        target = EmbeddedFakes()
    yield target
    target.close()


@pytest.fixture
def stocksim_schedule(request: pytest.FixtureRequest) -> Schedule:
    """The jobs' intervals and offsets: the defaults, or what --sim-param says."""
    return request.config.stash[SCHEDULE]


@pytest.fixture
def stocksim(request: pytest.FixtureRequest, stocksim_target: HttpTarget,
             stocksim_schedule: Schedule) -> Iterator[Simulation]:
    """A fresh simulation on reset fakes, seeded from the scenario's name; its connections are
    closed after the scenario (its timeline stays for the report)."""
    stocksim_target.reset()
    overrides = request.config.stash[CRM_OVERRIDES]
    if overrides:
        stocksim_target.configure_crm(overrides)
    seed = scenario_seed(request.node.name, request.config.getoption("sim_seed"))
    simulation = Simulation(stocksim_target, stocksim_schedule, seed=seed,
                            speed=request.config.getoption("sim_speed"))
    request.node.stash[SIMULATION] = simulation
    request.config.hook.pytest_stocksim_simulation(simulation=simulation, item=request.node)
    yield simulation
    simulation.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    simulation = item.stash.get(SIMULATION, None)
    if (item.config.getoption("stocksim_report") and (report.when == "call" or not report.passed)
            and is_scenario(item)):
        record = scenario_record(item, report)
        if simulation is not None:
            record["timeline"] = simulation.timeline.document(
                _case_name(item), record["scenario"]["name"], feature=record["feature"]["rel_filename"],
                result=outcome(report))
        setattr(report, RECORD, record)
    if simulation is None or report.when != "call":
        return report
    report.user_properties.append(("sim_seconds", simulation.now))
    if report.failed or item.config.getoption("sim_timeline"):
        report.sections.append(("stocksim timeline (simulated time)", simulation.timeline.render()))
    if report.failed and isinstance(simulation.target, DockerStack) and simulation.target.compose_project:
        report.sections.append(("docker stack logs", simulation.target.logs()))
    return report


def _case_name(item: pytest.Item) -> str:
    """The demo name of the first case the scenario covers (``C1``, ``W1-auto-cancel-on``), else its file."""
    from sim.demo import case_name_for_tags

    return case_name_for_tags({m.name for m in item.iter_markers()}) or item.path.stem


def is_scenario(item: pytest.Item) -> bool:
    """A Gherkin scenario (pytest-bdd's test functions ask for its example fixture), not a plain test."""
    return "_pytest_bdd_example" in getattr(item, "fixturenames", ())
