"""Steps about cadences, WP-Cron, the known differences and oversell.

The schedule is a parameter of the world: a Given step replaces the
scenario's copy of it before the clock starts (the command line's
``--sim-param`` values are the starting point, a step's value wins).

Scenarios tagged ``@xfail_module`` assert the source document's reading where
the module behaves otherwise: they are strict xfails, so the report shows the
difference with its reason, and a run fails if one of them starts passing.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import pytest
from pytest_bdd import given, parsers, then, when

from features.steps.world import World
from sim.oversell import OrderStream, OversellCount, oversell_bound, run_order_streams
from sim.timeline import clock_text

XFAIL_MODULE = "xfail_module"
#: Why each known difference's @documented scenario fails against the module (behaviour-model.md).
DIFFERENCES: dict[str, str] = {
    "difference_1": "known difference 1: an offer with a single store row keeps its total; the warehouse "
                    "selection applies only to offers with two or more store rows",
    "difference_2": "known difference 2: with auto-cancel off, WooCommerce restores the stock of a cancelled "
                    "order at once and the next stock sync lowers it again",
    "difference_3": "known difference 3: a CRM order created in a status mapped to processing, on-hold or "
                    "completed is flagged stock-reduced while still empty, so the shop never writes it off",
    "difference_4": "known difference 4: the module writes the catalog every 3 h and the CRM imports it every "
                    "~4 h, so the worst-case CRM lag is the sum, not ~4 h",
    "difference_5": "known difference 5: WP-Cron fires a due job only on the next site hit, so an interval is "
                    "'at least', not 'exactly'",
}
OWN_TAGS = {
    "cadence": "a scenario about a job's cadence as a parameter",
    "known_difference": "a scenario about a known difference between the source document and the module",
    "oversell": "a scenario measuring units sold on the site that the CRM no longer had",
    XFAIL_MODULE: "the document's reading, expected to fail against the module (strict xfail)",
    **{tag: reason for tag, reason in DIFFERENCES.items()},
}

#: The job runs a timing step may wait for, by the words a scenario uses.
JOB_EVENTS = {"stock sync": "sync.inventories", "order history sync": "sync.history"}


@dataclasses.dataclass
class OversellRun:
    """What the order streams of a scenario were and what they sold."""

    crm: OrderStream | None = None
    site: OrderStream | None = None
    count: OversellCount | None = None


@pytest.fixture
def oversell_run() -> OversellRun:
    return OversellRun()


# -- pytest hooks: markers and the strict xfail of the document's readings ---------------------------
def pytest_configure(config: pytest.Config) -> None:
    for tag, meaning in OWN_TAGS.items():
        config.addinivalue_line("markers", f"{tag}: {meaning}")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker(XFAIL_MODULE) is None:
            continue
        reasons = [reason for tag, reason in DIFFERENCES.items() if item.get_closest_marker(tag)]
        if not reasons:
            raise pytest.UsageError(f"{item.nodeid}: @{XFAIL_MODULE} needs a @difference_N tag saying which one")
        # strict: a module that starts following the document fails the run until the pair is revisited.
        reason = "the module differs from the document: " + "; ".join(reasons)
        item.add_marker(pytest.mark.xfail(strict=True, raises=AssertionError, reason=reason))


# -- Given: the cadences -------------------------------------------------------------------------
def set_schedule(world: World, **changes: float) -> None:
    """Change the scenario's own copy: the schedule from the command line is shared by every scenario."""
    assert not world.sim.started, "a cadence can change only before the clock starts (put it in a Given step)"
    world.sim.schedule = dataclasses.replace(world.sim.schedule, **changes)


@given(parsers.re(r"the stock sync runs every (?P<minutes>\d+) minutes"), converters={"minutes": int})
def stock_sync_every(world: World, minutes: int) -> None:
    set_schedule(world, inventories_interval=minutes * 60.0)


@given(parsers.re(r"the stock sync first runs (?P<minutes>\d+) minutes? after the clock starts"),
       converters={"minutes": int})
def stock_sync_first_at(world: World, minutes: int) -> None:
    set_schedule(world, inventories_offset=minutes * 60.0)


@given(parsers.re(r"the order history sync runs every (?P<minutes>\d+) minutes?"), converters={"minutes": int})
def history_every(world: World, minutes: int) -> None:
    set_schedule(world, history_interval=minutes * 60.0)


@given(parsers.re(r"the catalog file is generated every (?P<generated>\d+) hours? "
                  r"and imported every (?P<imported>\d+) hours?"), converters={"generated": int, "imported": int})
def catalog_every(world: World, generated: int, imported: int) -> None:
    set_schedule(world, icml_interval=generated * 3600.0, catalog_import_interval=imported * 3600.0)


@given(parsers.re(r"the first catalog import comes (?P<minutes>\d+) minutes? before the second catalog file"),
       converters={"minutes": int})
def import_just_before_file(world: World, minutes: int) -> None:
    # The worst case: the import reads the old file just before the new one is written, so the
    # new file waits almost a whole import interval.
    s = world.sim.schedule
    set_schedule(world, catalog_import_offset=s.icml_offset + s.icml_interval - minutes * 60.0)


@given(parsers.re(r"WP-Cron runs due jobs (?P<minutes>\d+) minutes? late"), converters={"minutes": int})
def wp_cron_late(world: World, minutes: int) -> None:
    set_schedule(world, cron_lateness=minutes * 60.0)


@given("the stock sync last fired on time, just before the first action")
def sync_fired_on_time(world: World) -> None:
    # WP-Cron's lateness depends on traffic: the worst case is a run on time followed by a late one.
    # The run before the clock starts was the on-time one; the next is due one interval later.
    set_schedule(world, inventories_offset=world.sim.schedule.inventories_interval)


@given(parsers.parse('the stock settings select only the "{store}" warehouse'))
def select_only_warehouse(world: World, store: str) -> None:
    world.sim.target.configure_connector({"stores_for_uploading": [store]})


# -- When -----------------------------------------------------------------------------------------
@when(parsers.parse("the shop admin sets the product's stock to {quantity:d}"))
def admin_sets_stock(world: World, quantity: int) -> None:
    product = world.product
    assert product is not None, "no product yet"
    world.sim.act("woo.product_stock", f"the shop admin sets the stock of {product.sku} to {quantity}",
                  lambda: world.sim.admin.set_product_stock(product, quantity))
    world.mark_action()


@when(parsers.parse('a CRM manager creates an order for {quantity:d} units in the "{status}" status'))
def manager_creates_order_in_status(world: World, quantity: int, status: str) -> None:
    product = world.product
    assert product is not None, "no product yet"
    world.crm_order = world.sim.act(
        "crm.order_create", f'a CRM manager creates an order for {quantity} x {product.sku} in "{status}"',
        lambda: world.sim.manager.create_order_in_status(product, quantity, status),
    )
    world.mark_action()


@when(parsers.re(r"for (?P<duration>\d+) minutes a CRM manager sells (?P<crm_qty>\d+) units? every "
                 r"(?P<crm_every>\d+) minutes and customers buy (?P<site_qty>\d+) units? on the site every "
                 r"(?P<site_every>\d+) minutes"),
      converters={k: int for k in ("duration", "crm_qty", "crm_every", "site_qty", "site_every")})
def order_streams(world: World, oversell_run: OversellRun, duration: int, crm_qty: int, crm_every: int,
                  site_qty: int, site_every: int) -> None:
    product = world.product
    assert product is not None, "no product yet"
    # Off the minute grid (20 s and 50 s past), so no sale shares an instant with a job run.
    oversell_run.crm = OrderStream(crm_qty, crm_every * 60.0, first=20.0)
    oversell_run.site = OrderStream(site_qty, site_every * 60.0, first=50.0)
    oversell_run.count = run_order_streams(world.sim, product, oversell_run.crm, oversell_run.site, duration * 60.0)
    world.mark_action()


# -- Then -----------------------------------------------------------------------------------------
@then(parsers.re(r"the (?P<system>shop|CRM) stock stays (?P<before>-?\d+) until the next "
                 r"(?P<job>stock sync|order history sync), which sets it to (?P<after>-?\d+) "
                 r"within (?P<minutes>\d+) minutes"), converters={"before": int, "after": int, "minutes": int})
def stays_until_job_within(world: World, system: str, before: int, job: str, after: int, minutes: int) -> None:
    event = world.assert_stays_until(system, before, JOB_EVENTS[job], after, f"the next {job}")
    lag = event.t - world.last_action_at
    assert lag <= minutes * 60, (
        f"the next {job} came at {world.at_text(event.t)}: {clock_text(lag)} after the last action, "
        f"more than {minutes} minutes"
    )


@then(parsers.re(r"the (?P<system>shop|CRM) stock stays (?P<before>-?\d+) until the first catalog import after "
                 r"the shop's next catalog file, which sets it to (?P<after>-?\d+) within (?P<minutes>\d+) minutes"),
      converters={"before": int, "after": int, "minutes": int})
def stays_until_catalog_import_within(world: World, system: str, before: int, after: int, minutes: int) -> None:
    world.assert_stays_until(system, before, "sync.icml", before, "the shop's next catalog file")
    event = world.assert_stays_until(system, before, "crm.catalog_import", after, "the next catalog import")
    lag = event.t - world.last_action_at
    assert lag <= minutes * 60, (
        f"the catalog import that brought {after} came at {world.at_text(event.t)}, more than {minutes} minutes "
        f"after the last action"
    )


@then(parsers.parse("at most {maximum:d} units were sold on the site that the CRM no longer had"))
def oversold_at_most(oversell_run: OversellRun, maximum: int, record_property: Callable[[str, Any], None]) -> None:
    count = oversell_run.count
    assert count is not None, "no order streams ran"
    record_property("oversold_units", count.oversold_units)
    assert count.oversold_units <= maximum, f"{count.summary()}; expected at most {maximum}"


@then(parsers.parse("the model's bound for these rates is {maximum:d} units"))
def model_bound(world: World, oversell_run: OversellRun, maximum: int) -> None:
    assert oversell_run.crm is not None and oversell_run.site is not None, "no order streams ran"
    bound = oversell_bound(world.sim.schedule.inventories_interval, oversell_run.crm, oversell_run.site)
    assert bound == maximum, f"the model bounds the oversell at {bound} units for these rates, not {maximum}"
