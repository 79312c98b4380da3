"""Oversell: site sales the CRM could no longer cover.

In mode C the CRM writes its own orders off at once, but the shop shows the
CRM's number only from the next stock sync on. Between the two, a customer can
buy on the site a unit the CRM has already sold. Two steady order streams
(SimPy processes on the simulation's clock) run the stock down; every site
sale is compared with what the CRM still had just before it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Generator

import simpy

from sim.actors import ActorError, Product
from sim.simulation import Simulation
from sim.targets import TargetError


#: WooCommerce's answers to a checkout the shop's own stock cannot cover.
OUT_OF_STOCK = ("woocommerce_product_not_enough_stock", "woocommerce_rest_product_out_of_stock")


@dataclass(frozen=True)
class OrderStream:
    """``quantity`` units every ``every`` simulated seconds, the first ``first`` seconds after the stream starts."""

    quantity: int
    every: float
    first: float


@dataclass
class OversellCount:
    crm_units: int = 0
    site_units: int = 0
    site_refused: int = 0
    #: Units sold on the site while the CRM no longer had them.
    oversold_units: int = 0

    def summary(self) -> str:
        return (f"oversold_units={self.oversold_units}: {self.site_units} unit(s) sold on the site "
                f"({self.site_refused} checkout(s) refused), {self.crm_units} sold in the CRM")


def oversell_bound(interval: float, crm: OrderStream, site: OrderStream) -> int:
    """The model's most oversold units for one stock-out, rounded up.

    When the CRM runs out, the shop still shows what the CRM sold since the last sync
    (at most crm_rate x a) and keeps selling until the next sync (at most site_rate x b),
    with a + b = one interval: the product of the two is largest at
    interval x crm_rate x site_rate / (crm_rate + site_rate).
    """
    crm_rate, site_rate = crm.quantity / crm.every, site.quantity / site.every
    return math.ceil(interval * crm_rate * site_rate / (crm_rate + site_rate))


def run_order_streams(sim: Simulation, product: Product, crm: OrderStream, site: OrderStream,
                      duration: float) -> OversellCount:
    """Run both streams for ``duration`` simulated seconds from now; record the count on the timeline."""
    count = OversellCount()
    sim.start()
    end = sim.now + duration
    streams = [sim.env.process(_stream(sim, crm, end, lambda: _crm_sale(sim, product, crm.quantity, count))),
               sim.env.process(_stream(sim, site, end, lambda: _site_sale(sim, product, site.quantity, count)))]
    # Stop as soon as both streams are done: the idle rest of the duration would add nothing.
    sim.run_until(lambda: all(s.triggered for s in streams), end)
    sim.record("sim", "sim.oversell", count.summary())
    return count


def _stream(sim: Simulation, stream: OrderStream, end: float,
            sale: Callable[[], bool]) -> Generator[simpy.Event, Any, None]:
    """Sell on every tick until ``end`` or until ``sale`` says nothing can be sold any more."""
    yield sim.env.timeout(stream.first)
    while sim.now < end and sale():
        yield sim.env.timeout(stream.every)


def _crm_stock(sim: Simulation, product: Product) -> int:
    return int(sim.observer.crm_stock().get(product.sku) or 0)


def _crm_sale(sim: Simulation, product: Product, quantity: int, count: OversellCount) -> bool:
    """False once the CRM is sold out: nobody restocks, so the manager is done."""
    # A manager sees the CRM's stock and does not sell what it no longer has.
    if _crm_stock(sim, product) < quantity:
        return False
    sim.act("crm.order_create", f"a CRM manager sells {quantity} x {product.sku}",
            lambda: sim.manager.create_order(product, quantity))
    count.crm_units += quantity
    return True


def _site_sale(sim: Simulation, product: Product, quantity: int, count: OversellCount) -> bool:
    """False once the shop refuses while the CRM is sold out: no later sync can give the shop stock again."""
    crm_had = max(_crm_stock(sim, product), 0)
    try:
        sim.act("checkout", f"a customer buys {quantity} x {product.sku} on the site",
                lambda: sim.customer.checkout(product, quantity))
    except (TargetError, ActorError) as refused:
        if not any(code in str(refused) for code in OUT_OF_STOCK):
            raise
        # The shop itself shows too little: WooCommerce refuses the checkout, nothing is sold.
        count.site_refused += 1
        return crm_had >= quantity
    count.site_units += quantity
    count.oversold_units += max(0, quantity - crm_had)
    return True
