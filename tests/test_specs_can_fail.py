"""The specs must be able to fail: the real scenarios, run against broken configurations."""

from __future__ import annotations

import pytest

from sim.cases import FEATURES_DIR

pytest_plugins = ["pytester"]


def run_scenarios(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess(str(FEATURES_DIR), "-p", "no:cacheprovider", *args)


def test_c1_passes_with_the_documented_configuration(pytester: pytest.Pytester) -> None:
    result = run_scenarios(pytester, "-m", "C1")
    result.assert_outcomes(passed=1)


def test_a_20_minute_inventories_interval_fails_c1_timing(pytester: pytest.Pytester) -> None:
    result = run_scenarios(pytester, "-m", "C1", "--sim-param", "inventories_interval=1200")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the shop stock was 8 at the deadline*it became 10 only at*"])
    result.stdout.fnmatch_lines(["*stocksim timeline*"])


def test_a_crm_that_keeps_stock_on_item_cancel_fails_c1_outcome(pytester: pytest.Pytester) -> None:
    result = run_scenarios(pytester, "-m", "C1", "--crm-setting", "item_cancel_returns_stock=false")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the CRM stock is 8, expected 10*"])


def test_a_10_minute_history_interval_fails_w2_timing(pytester: pytest.Pytester) -> None:
    result = run_scenarios(pytester, "-m", "W2", "--sim-param", "history_interval=600")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the shop stock was 10 at the deadline*"])


def test_the_preambles_reading_of_mode_w_fails_w1(pytester: pytest.Pytester) -> None:
    """The source's mode-W preamble says the CRM changes only at catalog import; W1's table row says at once."""
    result = run_scenarios(pytester, "-m", "W1", "--crm-setting", "write_off_site_orders_in_site_mode=false")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*the CRM stock is 10, expected 8*"])


STAYS_UNTIL_SYNC = """
@mode_site
Feature: a change that comes too early
  Scenario: the shop stock changes before the next stock sync
    Given stock is kept on the site
    And a product with 10 units in stock
    When a customer places an order for 2 units on the site
    Then the shop stock stays 10 until the next stock sync, which sets it to 8
"""


def test_stays_until_the_next_stock_sync_fails_when_the_change_comes_earlier(pytester: pytest.Pytester) -> None:
    pytester.makefile(".feature", early=STAYS_UNTIL_SYNC)
    pytester.makepyfile(test_early="from pytest_bdd import scenarios\nscenarios('early.feature')\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the shop stock changed to 8 at 0:00:00*before the next stock sync*"])


def test_an_unknown_schedule_parameter_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = run_scenarios(pytester, "-m", "C1", "--sim-param", "inventory_interval=60")
    assert result.ret != 0
    result.stderr.fnmatch_lines(["*unknown schedule parameter(s) inventory_interval*"])
