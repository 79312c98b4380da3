"""Determinism: the same seed gives the same timeline, and the specs pass in any order and on any worker.

Each run is a pytest subprocess over the real feature files, so the plugin's
seeding (per scenario, from its name and --sim-seed) is what is tested, not a
copy of it.
"""

from __future__ import annotations

import re

import pytest

from sim.cases import FEATURES_DIR

pytest_plugins = ["pytester"]

#: Scenarios whose timelines are compared: a mode-C and a mode-W case, and a fault (the quick ones).
TIMELINE_SCENARIOS = ("-m", "C1 or W2 or faults", "-k", "c1 or w2 or refuses_the_order_upload_at_checkout_the")
#: Scenarios run in random order under xdist: every documented case and the quicker faults
#: (the test runs them twice and must stay well under a minute).
ORDER_SCENARIOS = ("-m", "W1 or W2 or W3 or C1 or C2 or C3 or C_preamble or faults",
                   "-k", "not second_page and not in_mode_w")
SKU = re.compile(r"SKU-\d{4}")
#: A timeline row: simulated H:MM:SS first (the only clock a timeline shows).
ROW = re.compile(r"^ *\d+:\d{2}:\d{2}  .*$", re.M)


def run_features(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(str(FEATURES_DIR), "-p", "no:cacheprovider", *args)


def timelines(pytester: pytest.Pytester, *args: str) -> str:
    """Every scenario's rendered timeline, in collection order (randomly off: same order each run)."""
    result = run_features(pytester, "-p", "no:randomly", *TIMELINE_SCENARIOS, "--sim-timeline", "-rA", *args)
    assert result.ret == 0, result.stdout.str()[-3000:]
    result.assert_outcomes(passed=3)
    return "\n".join(ROW.findall(result.stdout.str()))


def stock_columns(timeline: str) -> list[str]:
    """The timeline without the Faker data: times, systems, events and stock numbers."""
    rows = []
    for line in timeline.splitlines():
        cells = line.split()
        rows.append(" ".join(SKU.sub("SKU", cell) for cell in cells[:5]))
    return rows


def test_the_same_seed_gives_the_same_timeline(pytester: pytest.Pytester) -> None:
    first, second = timelines(pytester), timelines(pytester)
    assert first == second


def test_another_seed_changes_the_data_but_not_the_stock(pytester: pytest.Pytester) -> None:
    default, other = timelines(pytester), timelines(pytester, "--sim-seed", "7")
    assert SKU.findall(default) != SKU.findall(other)  # Faker's data follows the seed
    assert stock_columns(default) == stock_columns(other)  # the stock numbers do not


@pytest.mark.parametrize("seed", ["1", "20261203"])
def test_the_features_pass_in_random_order_on_four_workers(pytester: pytest.Pytester, seed: str) -> None:
    result = run_features(pytester, "-p", "randomly", "-p", "xdist", "-n", "4", f"--randomly-seed={seed}",
                          *ORDER_SCENARIOS)
    outcomes = result.parseoutcomes()
    assert result.ret == 0 and outcomes.get("passed", 0) >= 12, result.stdout.str()[-3000:]
    assert "failed" not in outcomes and "error" not in outcomes


def test_pytest_randomly_does_not_change_the_scenarios_data(pytester: pytest.Pytester) -> None:
    """pytest-randomly reseeds ``random`` and Faker's shared generator before each test;
    our Faker is reseeded per scenario from its name, so the data stays the same."""
    plain = timelines(pytester)
    result = run_features(pytester, "-p", "randomly", "-p", "no:xdist", "--randomly-seed=99",
                          "--randomly-dont-reorganize", *TIMELINE_SCENARIOS, "--sim-timeline", "-rA")
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert plain == "\n".join(ROW.findall(result.stdout.str()))
