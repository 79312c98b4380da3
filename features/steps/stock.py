"""Step definitions: thin sentences over actors, the clock and the timeline checks."""

from __future__ import annotations

import pytest
from pytest_bdd import given, parsers, then, when

from features.steps.world import World
from sim.simulation import Simulation

SYSTEM = r"the (?P<system>shop|CRM)"


@pytest.fixture
def world(stocksim: Simulation) -> World:
    return World(sim=stocksim)


# -- Given: how the two systems are set up ---------------------------------------
@given("stock is kept on the site")
def stock_kept_on_site(world: World) -> None:
    world.crm_keeps_stock = False
    world.sim.target.configure_connector({"sync": "no"})
    world.sim.target.configure_crm(
        {"sites": {world.sim.target.creds.site: {"catalog_kept_in_system": False, "stock_editing": False}}}
    )


@given("stock is kept in the CRM")
def stock_kept_in_crm(world: World) -> None:
    world.crm_keeps_stock = True
    world.sim.target.configure_connector({"sync": "yes"})
    world.sim.target.configure_crm(
        {"sites": {world.sim.target.creds.site: {"catalog_kept_in_system": True, "store": "main", "stock_editing": True}}}
    )


@given(parsers.re(r"the CRM (?P<does>cancels|does not cancel) items when an order is cancelled"))
def crm_auto_cancel(world: World, does: str) -> None:
    world.sim.target.configure_crm({"auto_cancel_items": does == "cancels"})


@given(parsers.parse("a product with {quantity:d} units in stock"))
def product_in_stock(world: World, quantity: int) -> None:
    world.product = world.sim.add_product(quantity, crm_keeps_stock=world.crm_keeps_stock)


# -- When: actors act, time passes ---------------------------------------------
@when(parsers.parse("a customer places an order for {quantity:d} units on the site"))
def customer_orders(world: World, quantity: int) -> None:
    product = world.product
    assert product is not None
    world.woo_order = world.sim.act(
        "checkout", f"a customer orders {quantity} x {product.sku} on the site (cash on delivery)",
        lambda: world.sim.customer.checkout(product, quantity), qty=quantity, sku=product.sku,
    )
    world.mark_action()


@when(parsers.parse("a CRM manager creates an order for {quantity:d} units"))
def manager_creates_order(world: World, quantity: int) -> None:
    product = world.product
    assert product is not None
    world.crm_order = world.sim.act(
        "crm.order_create", f"a CRM manager creates an order for {quantity} x {product.sku}",
        lambda: world.sim.manager.create_order(product, quantity), qty=quantity, sku=product.sku,
    )
    world.mark_action()


@when(parsers.parse('the CRM manager sets the order status to "{status}"'))
def manager_sets_status(world: World, status: str) -> None:
    order = _crm_order(world)
    world.crm_order = world.sim.act(
        "crm.order_status", f'the CRM manager sets order {order["id"]} to "{status}"',
        lambda: world.sim.manager.set_order_status(order["id"], status), order=order["id"], status=status,
    )
    world.mark_action()


@when(parsers.parse('the CRM manager gives the order\'s items the "{status}" item status'))
def manager_sets_item_status(world: World, status: str) -> None:
    order = _crm_order(world)
    world.crm_order = world.sim.act(
        "crm.item_status", f'the CRM manager gives the items of order {order["id"]} the "{status}" status',
        lambda: world.sim.manager.set_item_status(order["id"], status), order=order["id"], status=status,
    )
    world.mark_action()


@when(parsers.parse('the shop admin sets the order status to "{status}"'))
def admin_sets_status(world: World, status: str) -> None:
    order = world.woo_order
    assert order is not None, "no order was placed on the site"
    world.woo_order = world.sim.act(
        "woo.order_status", f'the shop admin sets order #{order["id"]} to "{status}"',
        lambda: world.sim.admin.set_order_status(order["id"], status), order=order["id"], status=status,
    )
    world.mark_action()


@when(parsers.re(r"(?P<minutes>\d+) minutes? pass(es)?"), converters={"minutes": int})
def minutes_pass(world: World, minutes: int) -> None:
    world.sim.advance(minutes * 60)


def _crm_order(world: World) -> dict:
    assert world.crm_order is not None, "no order was created in the CRM"
    return world.crm_order


# -- Then: what each system shows, and when ----------------------------------------
@then(parsers.re(SYSTEM + r" stock is (?P<qty>-?\d+) at once"), converters={"qty": int})
def stock_at_once(world: World, system: str, qty: int) -> None:
    world.assert_at_once(system, qty)


@then(parsers.re(SYSTEM + r" stock becomes (?P<qty>-?\d+) within (?P<minutes>\d+) minutes"),
      converters={"qty": int, "minutes": int})
def stock_within(world: World, system: str, qty: int, minutes: int) -> None:
    world.assert_within(system, qty, minutes)


@then(parsers.re(SYSTEM + r" stock stays (?P<before>-?\d+) until the next stock sync, "
                 r"which sets it (back )?to (?P<after>-?\d+)"), converters={"before": int, "after": int})
def stock_until_sync(world: World, system: str, before: int, after: int) -> None:
    world.assert_stays_until(system, before, "sync.inventories", after, "the next stock sync")


@then(parsers.re(SYSTEM + r" stock stays (?P<before>-?\d+) until the first catalog import after the shop's "
                 r"next catalog file, which sets it (back )?to (?P<after>-?\d+)"), converters={"before": int, "after": int})
def stock_until_catalog_import(world: World, system: str, before: int, after: int) -> None:
    world.assert_stays_until(system, before, "sync.icml", before, "the shop's next catalog file")
    world.assert_stays_until(system, before, "crm.catalog_import", after, "the next catalog import")


@then(parsers.re(SYSTEM + r" stock stays (?P<qty>-?\d+) for (?P<minutes>\d+) minutes"),
      converters={"qty": int, "minutes": int})
def stock_stays_for(world: World, system: str, qty: int, minutes: int) -> None:
    world.assert_stays_for(system, qty, minutes)


@then(parsers.re(SYSTEM + r" stock has been (?P<qty>-?\d+) throughout"), converters={"qty": int})
def stock_throughout(world: World, system: str, qty: int) -> None:
    world.assert_throughout(system, qty)


@then(parsers.re(r"the next stock sync keeps the (?P<system>shop|CRM) stock at (?P<qty>-?\d+)"), converters={"qty": int})
def next_sync_keeps(world: World, system: str, qty: int) -> None:
    world.assert_stays_until(system, qty, "sync.inventories", qty, "the next stock sync")
