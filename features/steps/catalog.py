"""Steps for warehouses, the four prerequisites, binding and product types.

They reuse ``World`` and its timing checks; what a scenario needs beyond one
product (the products named by role) lives in the ``catalog``
fixture, so world.py stays as it is.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest
from pytest_bdd import given, parsers, then, when

from features.steps.world import World
from sim.actors import Product

#: Scenario tags this module adds: the statement each scenario checks.
STATEMENT_TAGS = {
    "warehouses": "setting-stock: which CRM warehouses the shop's stock is taken from",
    "prerequisites": "setting-stock: the four switches the CRM needs to keep the stock",
    "binding": "how the connector finds a shop product for a CRM offer, per product type",
}
PRODUCT = r"the (?P<which>variable product|first variation|second variation|external product)"
SYSTEM = r"the (?P<system>shop|CRM)"


def pytest_configure(config: pytest.Config) -> None:
    for tag, statement in STATEMENT_TAGS.items():
        config.addinivalue_line("markers", f"{tag}: {statement}")


@dataclass
class Catalog:
    """Products a scenario refers to by role ("the first variation"), beside ``world.product``."""

    products: dict[str, Product] = field(default_factory=dict)


@pytest.fixture
def catalog() -> Catalog:
    return Catalog()


@contextmanager
def focused(world: World, product: Product) -> Iterator[None]:
    """Point World's checks at another product for one step."""
    saved = world.product
    world.product = product
    try:
        yield
    finally:
        world.product = saved


def add_to_catalog(world: World, product: Product, crm_stock: dict[str, int] | None, what: str) -> None:
    """Watch a product and bring it into the CRM as add_product does: catalog file, import, then stock."""
    sim = world.sim
    sim.observer.watch(product)
    sim.target.run_job("icml")
    sim.target.catalog_import()
    if crm_stock:
        sim.manager.receive_stock_at(product, crm_stock)
    sim.record("sim", "setup.product", f"{what} {product.name} ({product.sku})")


def configure_site(world: World, **settings: Any) -> None:
    world.sim.target.configure_crm({"sites": {world.sim.target.creds.site: settings}})


def quoted(text: str) -> list[str]:
    return re.findall(r'"([^"]+)"', text)


# -- Given: warehouses -------------------------------------------------------------
@given(parsers.parse('a product with {quantity:d} units in stock, all at the "{store}" warehouse'))
def product_at_one_store(world: World, quantity: int, store: str) -> None:
    world.product = world.sim.add_product(quantity, crm_keeps_stock=world.crm_keeps_stock, store=store)


@given(parsers.re(r'the CRM holds (?P<first>\d+) units at the "(?P<store1>\w+)" warehouse '
                  r'and (?P<second>\d+) at "(?P<store2>\w+)"'), converters={"first": int, "second": int})
def crm_holds_at_stores(world: World, first: int, store1: str, second: int, store2: str) -> None:
    product = world.product
    assert product is not None, "add a product first"
    world.sim.manager.receive_stock_at(product, {store1: first, store2: second})
    world.sim.record("crm", "setup.stock", f"{product.sku}: {first} at {store1}, {second} at {store2}")


@given(parsers.re(r"the shop takes its stock only from the (?P<stores>.+) warehouses?"))
def select_stores(world: World, stores: str) -> None:
    world.sim.target.configure_connector({"stores_for_uploading": quoted(stores)})


@given("no warehouse is selected for the shop's stock")
def select_no_store(world: World) -> None:
    world.sim.target.configure_connector({"stores_for_uploading": []})


# -- Given: the four prerequisites, one off at a time ------------------------------------
@given("the site does not keep its catalog in the CRM")
def catalog_not_in_crm(world: World) -> None:
    configure_site(world, catalog_kept_in_system=False)


@given("no warehouse is assigned to the site")
def no_store_assigned(world: World) -> None:
    configure_site(world, store=None)


@given("stock editing is off for the site")
def stock_editing_off(world: World) -> None:
    configure_site(world, stock_editing=False)


@given("the connector's stock synchronization is off")
def sync_off(world: World) -> None:
    world.sim.target.configure_connector({"sync": "no"})


# -- Given: binding and product types -----------------------------------------------
@given("the connector binds products by SKU")
def bind_by_sku(world: World) -> None:
    world.sim.target.configure_connector({"bind_by_sku": "yes"})


@given(parsers.parse("a variable product whose two variations have {first:d} and {second:d} units in stock"))
def variable_product(world: World, catalog: Catalog, first: int, second: int) -> None:
    parent, variations = world.sim.admin.create_variable_product([first, second])
    world.sim.observer.watch(parent)
    for variation, quantity in zip(variations, (first, second)):
        add_to_catalog(world, variation, {"main": quantity} if world.crm_keeps_stock else None,
                       f"variation with {quantity} in stock:")
    catalog.products.update({"variable product": parent, "first variation": variations[0],
                             "second variation": variations[1]})
    world.product = variations[0]


@given("an external product")
def external_product(world: World, catalog: Catalog) -> None:
    product = world.sim.admin.create_external_product()
    add_to_catalog(world, product, None, "external product")
    catalog.products["external product"] = product


# -- When --------------------------------------------------------------------------
@when("the next stock sync runs")
def next_sync_runs(world: World) -> None:
    world.sim.run_until_event("sync.inventories")
    world.mark_action()


@when(parsers.re(r'the shop admin (?P<change>adds|removes) the "(?P<store>\w+)" warehouse (to|from) the selection'))
def change_selection(world: World, change: str, store: str) -> None:
    def act() -> None:
        # The selection is the plugin's own option: read it back so the change is relative, as in the admin form.
        stores = list(world.sim.target.shop_control("GET", "/connector/settings")["stores_for_uploading"])
        stores = stores + [store] if change == "adds" else [s for s in stores if s != store]
        world.sim.target.configure_connector({"stores_for_uploading": stores})

    world.sim.act("woo.settings", f'the shop admin {change} the "{store}" warehouse in the stock selection', act)
    world.mark_action()


@when(parsers.parse('the CRM manager receives {quantity:d} units of {which} at the "{store}" warehouse'))
def manager_receives(world: World, catalog: Catalog, quantity: int, which: str, store: str) -> None:
    product = catalog.products[which.removeprefix("the ")]
    world.sim.act("crm.stock", f'the CRM manager sets {product.sku} to {quantity} at "{store}"',
                  lambda: world.sim.manager.receive_stock_at(product, {store: quantity}))
    world.mark_action()


@when(parsers.parse("a CRM manager creates an order for {quantity:d} units of {which}"))
def manager_orders_product(world: World, catalog: Catalog, quantity: int, which: str) -> None:
    product = catalog.products[which.removeprefix("the ")]
    world.crm_order = world.sim.act(
        "crm.order_create", f"a CRM manager creates an order for {quantity} x {product.sku}",
        lambda: world.sim.manager.create_order(product, quantity),
    )
    world.mark_action()


@when("the shop admin gives the product a new SKU")
def admin_changes_sku(world: World) -> None:
    product = world.product
    assert product is not None, "add a product first"
    new_sku = product.sku + "-NEW"

    def act() -> None:
        world.sim.admin.change_sku(product, new_sku)
        product.sku = new_sku  # the observer reads the shop by SKU: it follows the product's new one

    world.sim.act("woo.product", f"the shop admin renames SKU {product.sku} to {new_sku}", act)
    world.mark_action()


@when(parsers.parse("the shop admin adds a product with {quantity:d} units in stock"))
def admin_adds_product(world: World, quantity: int) -> None:
    def act() -> Product:
        product = world.sim.admin.create_product(quantity)
        world.sim.observer.watch(product)
        return product

    world.product = world.sim.act("woo.product", f"the shop admin adds a product with {quantity} in stock", act)
    world.mark_action()


# -- Then --------------------------------------------------------------------------
@then(parsers.parse("the CRM knows no stock of it until the first catalog import after the shop's next catalog file, "
                    "which sets it to {quantity:d}"))
def crm_learns_from_catalog(world: World, quantity: int) -> None:
    # No offer yet: the observer reads None, and World's checks compare it like any quantity.
    unknown: Any = None
    world.assert_stays_until("CRM", unknown, "sync.icml", unknown, "the shop's next catalog file")
    world.assert_stays_until("CRM", unknown, "crm.catalog_import", quantity, "the next catalog import")


@then(parsers.parse("the shop stock has been {quantity:d} since it was added"))
def shop_since_added(world: World, quantity: int) -> None:
    changed = world.first_change("shop", world.events_from(world.last_action_index), quantity)
    assert changed is None, (f"the shop stock was {world.qty('shop', changed)} at {world.at_text(changed.t)} "
                             f"({changed.kind}); expected {quantity} since the product was added")


@then(parsers.re(SYSTEM + r" stock of " + PRODUCT + r" is (?P<qty>-?\d+) at once"), converters={"qty": int})
def product_stock_at_once(world: World, catalog: Catalog, system: str, which: str, qty: int) -> None:
    with focused(world, catalog.products[which]):
        world.assert_at_once(system, qty)


@then(parsers.re(SYSTEM + r" stock of " + PRODUCT + r" stays (?P<before>-?\d+) until the next stock sync, "
                 r"which sets it (back )?to (?P<after>-?\d+)"), converters={"before": int, "after": int})
def product_stock_until_sync(world: World, catalog: Catalog, system: str, which: str, before: int, after: int) -> None:
    with focused(world, catalog.products[which]):
        world.assert_stays_until(system, before, "sync.inventories", after, "the next stock sync")


@then(parsers.re(r"the next stock sync keeps the shop stock of " + PRODUCT + r" at (?P<qty>-?\d+)"),
      converters={"qty": int})
def product_kept_by_sync(world: World, catalog: Catalog, which: str, qty: int) -> None:
    with focused(world, catalog.products[which]):
        world.assert_stays_until("shop", qty, "sync.inventories", qty, "the next stock sync")


@then(parsers.re(r"that stock sync (sets|leaves) the shop stock of " + PRODUCT + r" (at|to) (?P<qty>-?\d+)"),
      converters={"qty": int})
def product_at_last_sync(world: World, catalog: Catalog, which: str, qty: int) -> None:
    sync = next((e for e in reversed(world.sim.timeline.events) if e.kind == "sync.inventories"), None)
    assert sync is not None, "no stock sync has run yet"
    with focused(world, catalog.products[which]):
        shown = world.qty("shop", sync)
    assert shown == qty, (f"the stock sync at {world.at_text(sync.t)} left the shop stock of the {which} "
                          f"at {shown}, expected {qty}")


@then("the next stock sync leaves the external product without a stock count in the shop")
def external_left_alone(world: World, catalog: Catalog) -> None:
    product = catalog.products["external product"]
    event = world.sim.run_until_event("sync.inventories")
    with focused(world, product):
        shown = world.qty("shop", event)
    assert shown is None, f"the stock sync at {world.at_text(event.t)} gave the external product a stock of {shown}"


@then(parsers.re(SYSTEM + r" stock stays (?P<before>-?\d+) until the next stock sync after the CRM's next "
                 r"catalog import, which sets it (back )?to (?P<after>-?\d+)"),
      converters={"before": int, "after": int})
def stock_until_sync_after_import(world: World, system: str, before: int, after: int) -> None:
    world.assert_stays_until(system, before, "crm.catalog_import", before, "the CRM's next catalog import")
    world.assert_stays_until(system, before, "sync.inventories", after, "the next stock sync after it")
