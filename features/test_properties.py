"""Properties of the two stock modes, checked on random plans in simulated time.

The scenarios check one documented row at one cron phase; these check the
statements behind them for any phase and any order of actions:

- mode C (source: "information on stock goes from the CRM to WooCommerce once
  every 15 minutes"): the shop shows the CRM's stock no later than one
  inventories interval after the last change, and between inventories runs
  only shop-side orders move the shop's number;
- mode W (source: "in the CRM stock is updated when the ICML catalog file is
  synchronised"): the CRM shows the shop's stock after the first catalog import
  that follows the first catalog file generated after the last shop change.

The seed is fixed (``derandomize=True``) so a run is repeatable, and the budget
is small (12 and 10 examples): each example resets the fakes and runs hours of
simulated time over loopback HTTP. Each test prints, and records as JUnit
properties, how many examples it ran and the simulated time they covered.
Against the docker target they are skipped (the budget assumes the embedded
fakes). Statements they check: ``sim.cases.PROPERTIES``.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Callable, Iterator

import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from features.steps.stock import stock_kept_in_crm, stock_kept_on_site
from features.steps.world import World
from sim.actors import Product, StockObserver
from sim.pytest_plugin import SCHEDULE
from sim.simulation import Schedule, Simulation
from sim.targets import EmbeddedFakes, HttpTarget
from sim.timeline import Event, clock_text

#: Examples per property. A mode-C example runs ~1 simulated hour, a mode-W one ~4 (it waits for a catalog
#: file and then its import, up to 7 h), ~17 job runs per hour, each an HTTP call plus the stock reading.
MODE_C_EXAMPLES = 12
MODE_W_EXAMPLES = 10
INITIAL_STOCK = 20
#: At most 3 orders of at most 3 units per side: CRM and site orders together (18) never exceed the stock,
#: so no checkout is refused for want of stock (overselling is another spec's subject).
MAX_ORDERS = 3
MAX_QUANTITY = 3
#: Actions fall in the first simulated hour (cancels up to half an hour later): enough to straddle several
#: inventories runs, and, with a random phase, sometimes a catalog file or import.
ACTION_WINDOW = 3600
CANCEL_WINDOW = 1800

#: Timeline kinds through which the shop's number may move in mode C: the CRM's push and shop-side orders.
SHOP_SIDE_KINDS = ("sync.inventories", "action.checkout", "action.woo.")

PROPERTY_SETTINGS = settings(
    deadline=None,  # an example runs hours of simulated time; wall time is bounded by the budget instead
    derandomize=True,  # the fixed seed: the same examples on every run and machine
    database=None,  # nothing written to .hypothesis/ next to wherever `stocksim run` is started
    suppress_health_check=[HealthCheck.too_slow],
    # No shrinking: each example costs up to a second, so shrinking a failure could take minutes; the
    # failing example's timeline (note()) already shows every action and job run.
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


@dataclass(frozen=True)
class Step:
    """One actor's action at a simulated time (seconds after the clock starts)."""

    at: float
    kind: str  # crm_order | item_cancel | checkout | woo_cancel
    order: int  # index of the order this step places or cancels
    quantity: int = 0


def _order_plans(kinds: tuple[str, str]) -> st.SearchStrategy[list[Step]]:
    """A few orders placed at random times, each perhaps cancelled a while later."""
    place, cancel = kinds
    cancel_after = st.none() | st.integers(0, CANCEL_WINDOW)
    one = st.tuples(st.integers(0, ACTION_WINDOW), st.integers(1, MAX_QUANTITY), cancel_after)

    def steps(orders: list[tuple[int, int, int | None]]) -> list[Step]:
        plan = []
        for n, (at, quantity, cancel_after) in enumerate(orders):
            plan.append(Step(at, place, n, quantity))
            if cancel_after is not None:
                plan.append(Step(at + cancel_after, cancel, n))
        # A cancel never precedes its order: equal times keep the order first (stable sort).
        return sorted(plan, key=lambda s: s.at)

    return st.lists(one, min_size=1, max_size=MAX_ORDERS).map(steps)


def _mode_c_plans() -> st.SearchStrategy[list[Step]]:
    crm = _order_plans(("crm_order", "item_cancel"))
    site = _order_plans(("checkout", "woo_cancel"))
    # Mostly CRM orders (the statement's subject), sometimes site orders mixed in (the shop-side changes).
    return st.one_of(crm, st.tuples(crm, site).map(_merge))


def _merge(plans: tuple[list[Step], list[Step]]) -> list[Step]:
    crm, site = plans
    # Site orders are numbered after the CRM's so each step still names its own order.
    shifted = [replace(s, order=s.order + 100) for s in site]
    return sorted(crm + shifted, key=lambda s: s.at)


class PartialObserver(StockObserver):
    """Records after each event only the systems a property reads from the timeline.

    Each event's reading costs an HTTP round trip per system, and hours of simulated time make hundreds of
    events per example: reading less keeps the budget. Mode C needs the shop's number at every event (what
    moved it); mode W none (it compares the two only at the catalog import, read there with _both_now).
    """

    def __init__(self, target: HttpTarget, systems: tuple[str, ...]) -> None:
        super().__init__(target)
        self.systems = systems

    def snapshot(self) -> dict[str, dict[str, int | None]]:
        readers = {"woo": self.woo_stock, "crm": self.crm_stock}
        return {system: readers[system]() for system in self.systems} if self.products else {}


@contextmanager
def _fresh_simulation(target: HttpTarget, schedule: Schedule, seed: int,
                      recorded: tuple[str, ...]) -> Iterator[Simulation]:
    """One example's simulation, its connections closed after it (as the ``stocksim`` fixture does):
    hundreds of examples' idle keep-alive connections would reach the fakes' connection limit."""
    target.reset()  # every example starts from empty fakes, as every scenario does
    sim = Simulation(target, schedule, seed=seed)
    sim.observer = PartialObserver(target, recorded)  # before any product is added, so it watches them all
    try:
        yield sim
    finally:
        sim.close()


def _both_now(sim: Simulation, product: Product) -> tuple[int | None, int | None]:
    """The CRM's and the shop's stock now, read through their public APIs."""
    return sim.observer.crm_stock()[product.sku], sim.observer.woo_stock()[product.sku]


def _play(sim: Simulation, product: Product, plan: list[Step]) -> float:
    """Run the plan on the clock; returns the time of the last action."""
    orders: dict[int, dict] = {}
    for step in plan:
        sim.advance(step.at - sim.now)
        _ACTIONS[step.kind](sim, product, step, orders)
    return sim.now


def _crm_order(sim: Simulation, product: Product, step: Step, orders: dict[int, dict]) -> None:
    orders[step.order] = sim.act("crm.order_create", f"a CRM manager orders {step.quantity} x {product.sku}",
                                 lambda: sim.manager.create_order(product, step.quantity))


def _item_cancel(sim: Simulation, product: Product, step: Step, orders: dict[int, dict]) -> None:
    crm_id = orders[step.order]["id"]
    sim.act("crm.item_status", f'the CRM manager gives the items of order {crm_id} the "failure" status',
            lambda: sim.manager.set_item_status(crm_id, "failure"))


def _checkout(sim: Simulation, product: Product, step: Step, orders: dict[int, dict]) -> None:
    orders[step.order] = sim.act("checkout", f"a customer orders {step.quantity} x {product.sku} on the site",
                                 lambda: sim.customer.checkout(product, step.quantity))


def _woo_cancel(sim: Simulation, product: Product, step: Step, orders: dict[int, dict]) -> None:
    woo_id = orders[step.order]["id"]
    sim.act("woo.order_status", f'the shop admin sets order #{woo_id} to "cancelled"',
            lambda: sim.admin.set_order_status(woo_id, "cancelled"))


_ACTIONS: dict[str, Callable[[Simulation, Product, Step, dict[int, dict]], None]] = {
    "crm_order": _crm_order, "item_cancel": _item_cancel, "checkout": _checkout, "woo_cancel": _woo_cancel,
}


def _shop_moves_outside(events: list[Event], product: Product) -> list[Event]:
    """Events after which the shop's number differs from the one before, through something not shop-side."""
    moved = []
    for before, after in zip(events, events[1:]):
        changed = after.qty("woo", product.sku) != before.qty("woo", product.sku)
        if changed and not after.kind.startswith(SHOP_SIDE_KINDS):
            moved.append(after)
    return moved


def _require_fakes(target: HttpTarget) -> None:
    # The budget assumes the embedded fakes: against a real WordPress each example's reset takes seconds.
    if not isinstance(target, EmbeddedFakes):
        pytest.skip("properties run against the embedded fakes only (each example resets the whole stack)")


def _report(record_property: Callable[[str, object], None], name: str, examples: int, simulated: float) -> None:
    print(f"{name}: {examples} hypothesis examples, {clock_text(simulated)} simulated")
    record_property("hypothesis_examples", examples)
    record_property("sim_seconds", simulated)  # `stocksim run` adds it to the simulated total


@pytest.mark.mode_crm
def test_mode_c_shop_follows_the_crm_within_one_inventories_interval(
    stocksim_target: HttpTarget, pytestconfig: pytest.Config, record_property: Callable[[str, object], None],
) -> None:
    _require_fakes(stocksim_target)
    base: Schedule = pytestconfig.stash[SCHEDULE]
    interval = base.inventories_interval
    tally = {"examples": 0, "simulated": 0.0}

    @settings(PROPERTY_SETTINGS, max_examples=MODE_C_EXAMPLES)
    @given(phase=st.integers(0, max(0, int(interval) - 1)), plan=_mode_c_plans())
    def check(phase: int, plan: list[Step]) -> None:
        with _fresh_simulation(stocksim_target, replace(base, inventories_offset=float(phase)), seed=phase,
                               recorded=("woo",)) as sim:
            world = World(sim=sim)
            stock_kept_in_crm(world)
            product = sim.add_product(INITIAL_STOCK, crm_keeps_stock=True)
            last = _play(sim, product, plan)
            sim.advance(interval)  # advance() also runs whatever is due at exactly last + interval
            tally["examples"] += 1
            tally["simulated"] += sim.now
            note(sim.timeline.render())

            crm, woo = _both_now(sim, product)
            assert woo == crm, (f"{clock_text(interval)} after the last change (at {clock_text(last)}) "
                                f"the shop shows {woo}, the CRM {crm}")
            stray = _shop_moves_outside(sim.timeline.events, product)
            assert not stray, "the shop's stock moved outside an inventories run or a shop-side order: " + (
                "; ".join(f"{clock_text(e.t)} {e.kind} -> {e.qty('woo', product.sku)}" for e in stray))

    check()
    _report(record_property, "mode C", tally["examples"], tally["simulated"])


def _catalog_cycle_after(sim: Simulation) -> Event:
    """The first catalog import whose file was generated after now (the file comes first, then its import)."""
    sim.run_until_event("sync.icml")
    return sim.run_until_event("crm.catalog_import")


@pytest.mark.mode_site
def test_mode_w_crm_follows_the_shop_after_the_next_catalog_import(
    stocksim_target: HttpTarget, pytestconfig: pytest.Config, record_property: Callable[[str, object], None],
) -> None:
    _require_fakes(stocksim_target)
    base: Schedule = pytestconfig.stash[SCHEDULE]
    tally = {"examples": 0, "simulated": 0.0}

    @settings(PROPERTY_SETTINGS, max_examples=MODE_W_EXAMPLES)
    @given(icml_phase=st.integers(0, max(0, int(base.icml_interval) - 1)),
           import_phase=st.integers(0, max(0, int(base.catalog_import_interval) - 1)),
           auto_cancel=st.booleans(), plan=_order_plans(("checkout", "woo_cancel")))
    def check(icml_phase: int, import_phase: int, auto_cancel: bool, plan: list[Step]) -> None:
        schedule = replace(base, icml_offset=float(icml_phase), catalog_import_offset=float(import_phase))
        with _fresh_simulation(stocksim_target, schedule, seed=icml_phase ^ import_phase, recorded=()) as sim:
            world = World(sim=sim)
            stock_kept_on_site(world)
            sim.target.configure_crm({"auto_cancel_items": auto_cancel})
            product = sim.add_product(INITIAL_STOCK, crm_keeps_stock=False)
            last = _play(sim, product, plan)
            imported = _catalog_cycle_after(sim)
            crm, woo = _both_now(sim, product)  # run_until_event stops right after the import: nothing else ran
            tally["examples"] += 1
            tally["simulated"] += sim.now
            note(sim.timeline.render())

            assert crm == woo, (f"the catalog import at {clock_text(imported.t)}, the first after the last shop "
                                f"change (at {clock_text(last)}) and a catalog file, left the CRM at {crm}, "
                                f"the shop at {woo}")

    check()
    _report(record_property, "mode W", tally["examples"], tally["simulated"])
