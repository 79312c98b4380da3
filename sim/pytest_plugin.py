"""The pytest plugin behind the acceptance suite.

It starts the embedded fakes once per run, gives every scenario a fresh
simulation (targets reset, seeded data), lets a run override schedule
parameters and CRM settings from the command line, and attaches the
timeline to every failing scenario.
"""

from __future__ import annotations

import json
from typing import Any, Generator, Iterator

import pytest

from sim.cases import all_tags
from sim.simulation import Schedule, Simulation, scenario_seed
from sim.targets import EmbeddedFakes

pytest_plugins = ["features.steps.stock"]

SIMULATION = pytest.StashKey[Simulation]()
SCHEDULE = pytest.StashKey[Schedule]()
CRM_OVERRIDES = pytest.StashKey[dict[str, Any]]()


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


def pytest_configure(config: pytest.Config) -> None:
    for tag in all_tags():
        config.addinivalue_line("markers", f"{tag}: stocksim case/branch/mode tag")
    try:
        config.stash[SCHEDULE] = Schedule.from_pairs(_pairs(config.getoption("sim_param"), "--sim-param"))
    except ValueError as exc:
        raise pytest.UsageError(f"--sim-param: {exc}") from None
    overrides = _pairs(config.getoption("crm_setting"), "--crm-setting")
    config.stash[CRM_OVERRIDES] = {name: _json_value(raw) for name, raw in overrides.items()}


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


@pytest.fixture(scope="session")
def stocksim_target() -> Iterator[EmbeddedFakes]:
    target = EmbeddedFakes()
    yield target
    target.close()


@pytest.fixture
def stocksim_schedule(request: pytest.FixtureRequest) -> Schedule:
    """The jobs' intervals and offsets: the defaults, or what --sim-param says."""
    return request.config.stash[SCHEDULE]


@pytest.fixture
def stocksim(request: pytest.FixtureRequest, stocksim_target: EmbeddedFakes, stocksim_schedule: Schedule) -> Simulation:
    """A fresh simulation on reset fakes, seeded from the scenario's name."""
    stocksim_target.reset()
    overrides = request.config.stash[CRM_OVERRIDES]
    if overrides:
        stocksim_target.configure_crm(overrides)
    seed = scenario_seed(request.node.name, request.config.getoption("sim_seed"))
    simulation = Simulation(stocksim_target, stocksim_schedule, seed=seed)
    request.node.stash[SIMULATION] = simulation
    return simulation


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, Any]:
    report = yield
    simulation = item.stash.get(SIMULATION, None)
    if simulation is None or report.when != "call":
        return report
    report.user_properties.append(("sim_seconds", simulation.now))
    if report.failed or item.config.getoption("sim_timeline"):
        report.sections.append(("stocksim timeline (simulated time)", simulation.timeline.render()))
    return report
