"""The cadence, known-difference and oversell specs must be able to fail.

Each test runs real scenarios in a subprocess with a plugin that breaks one
thing the scenarios depend on, and checks they fail saying why.
"""

from __future__ import annotations

import pytest

from sim.cases import FEATURES_DIR

pytest_plugins = ["pytester"]

SCENARIOS = FEATURES_DIR / "test_documented_cases.py"
STOCK_SYNC_BOUND_5 = f"{SCENARIOS}::test_a_crm_change_reaches_the_shop_within_one_stock_sync_interval_of_minutes_minutes[5]"
OVERSELL_5 = f"{SCENARIOS}::test_a_stock_sync_every_minutes_minutes_oversells_at_most_maximum_units[5-2-2]"

#: A plugin that ignores the retailcrm_cron_schedules filter: every scenario runs on the default cadences.
IGNORES_CRON_FILTER = """
from sim.simulation import Schedule, Simulation

_start = Simulation.start


def start(self):
    if not self.started:
        self.schedule = Schedule()
    _start(self)


Simulation.start = start
"""

#: A shop whose stock sync never runs: it keeps selling what it showed at the start.
NEVER_SYNCS = """
from sim.simulation import Simulation

_run_job = Simulation._run_job


def run_job(self, job, kind):
    if job != "inventories":
        _run_job(self, job, kind)


Simulation._run_job = run_job
"""

#: A connector without the single-store quirk: the warehouse selection applies to every offer.
NO_SINGLE_STORE_QUIRK = """
from fakes.shop.connector import Connector

_offer_write = Connector._offer_write


def offer_write(self, offer, stores, by_sku, parent_totals, writes):
    rows = offer.get("stores") or []
    if stores and len(rows) == 1:
        offer = {**offer, "quantity": sum(float(r.get("quantity") or 0) for r in rows if r.get("store") in stores)}
    return _offer_write(self, offer, stores, by_sku, parent_totals, writes)


Connector._offer_write = offer_write
"""


def run_with(pytester: pytest.Pytester, plugin: str | None, *args: str) -> pytest.RunResult:
    extra: list[str] = []
    if plugin is not None:
        pytester.makepyfile(broken=plugin)
        extra = ["-p", "broken"]
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", "-rxX", *extra, *args)


def test_a_stock_sync_interval_bound_fails_when_the_cron_filter_is_ignored(pytester: pytest.Pytester) -> None:
    result = run_with(pytester, IGNORES_CRON_FILTER, STOCK_SYNC_BOUND_5)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the next stock sync came at 0:15:00*more than 5 minutes*"])


def test_the_oversell_maximum_fails_when_the_shop_never_syncs(pytester: pytest.Pytester) -> None:
    result = run_with(pytester, NEVER_SYNCS, OVERSELL_5)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*oversold_units=*expected at most 2*"])


def test_known_difference_1_shows_as_a_strict_xfail_with_its_reason(pytester: pytest.Pytester) -> None:
    result = run_with(pytester, None, str(FEATURES_DIR), "-m", "difference_1 and known_difference")
    result.assert_outcomes(passed=1, xfailed=1)
    result.stdout.fnmatch_lines(["XFAIL*known difference 1: an offer with a single store row keeps its total*"])


def test_a_module_that_follows_the_document_fails_both_sides_of_difference_1(pytester: pytest.Pytester) -> None:
    result = run_with(pytester, NO_SINGLE_STORE_QUIRK, str(FEATURES_DIR), "-m", "difference_1 and known_difference")
    # The @module scenario fails; the @documented one passes, which a strict xfail turns into a failure.
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*the shop stock changed to 0 at 0:00:00*before the next stock sync*"])
    result.stdout.fnmatch_lines(["*XPASS(strict)*"])
