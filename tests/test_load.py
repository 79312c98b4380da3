"""Both fakes under concurrent load at once: many clients ordering and reading stock.

Nothing is lost: each system's final stock is its initial stock minus the
quantities its answered orders took (no lost update), no request gets a 5xx,
and a second identical round leaves memory where the first left it, but for
what the fakes keep by design (the orders themselves; the journal is bounded).
No assertion is made on speed.
"""

from __future__ import annotations

import gc
import json
import threading
import tracemalloc
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest
import requests

from fakes.base import ADMIN_PREFIX, FakeServer, Journal, direct_session
from fakes.crm import CONNECTOR_KEY, SITE_CODE, CrmApp
from fakes.crm.catalog import IcmlOffer
from fakes.shop import CONSUMER_KEY, CONSUMER_SECRET, ShopApp

CLIENTS = 16
ROUNDS_OF_ORDERS = 12  # per client and round: 12 × (2 CRM + 3 shop requests)
INITIAL = 10_000
OFFER = "42"
KEYS = {"consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET}
# Small enough for the first round to fill it, so the second round measures the journal at its cap.
JOURNAL_SIZE = 200
# The fakes keep every order (and the CRM its history records): that growth is by design.
BYTES_PER_ORDER_KEPT = 8_192


@dataclass
class Tally:
    """What one round did: quantities each system took, requests sent, 5xx answers seen."""

    crm_taken: int = 0
    shop_taken: int = 0
    requests: int = 0
    orders: int = 0
    server_errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, response: requests.Response, expected: int, crm: int = 0, shop: int = 0) -> None:
        with self.lock:
            self.requests += 1
            if response.status_code >= 500 or response.status_code != expected:
                self.server_errors.append(f"{response.request.method} {response.url}: {response.status_code} "
                                          f"{response.text[:200]}")
                return
            self.crm_taken += crm
            self.shop_taken += shop
            self.orders += 1 if (crm or shop) else 0


@dataclass
class Fakes:
    crm: FakeServer
    shop: FakeServer
    product_id: int


@pytest.fixture
def fakes() -> Iterator[Fakes]:
    crm_app = CrmApp()  # no rate limit: the clients here are the load, not a client under test
    crm_app.state.catalog_import(SITE_CODE, [IcmlOffer(id=OFFER, name="Mug", xml_id="SKU-42", price=500)])
    crm_app.state.upload_inventories(CONNECTOR_KEY, [
        {"externalId": OFFER, "stores": [{"code": "main", "available": INITIAL}]}], None)
    shop_app = ShopApp()  # no CRM URL: the plugin model stays idle, each system's stock is its own
    product = shop_app.state.create_product(name="Mug", regular_price="100", manage_stock=True,
                                            stock_quantity=INITIAL)
    for app in (crm_app, shop_app):
        app.journal = Journal(JOURNAL_SIZE)
    with FakeServer(crm_app, threads=8) as crm, FakeServer(shop_app, threads=8) as shop:
        yield Fakes(crm, shop, product.id)


def client(fakes: Fakes, number: int, tally: Tally) -> None:
    """One client: per step a CRM order and stock read, a checkout, a REST order and a product read."""
    session = direct_session()
    for step in range(ROUNDS_OF_ORDERS):
        quantity = 1 + (number + step) % 3
        crm_order = {"firstName": f"Load {number}", "items": [{"offer": {"externalId": OFFER}, "quantity": quantity}]}
        tally.add(session.post(f"{fakes.crm.url}/api/v5/orders/create", data={"order": json.dumps(crm_order)},
                               headers={"X-API-KEY": CONNECTOR_KEY}, timeout=30), 201, crm=quantity)
        tally.add(session.get(f"{fakes.crm.url}/api/v5/store/inventories", params={"filter[offerExternalId][]": OFFER},
                              headers={"X-API-KEY": CONNECTOR_KEY}, timeout=30), 200)
        line = [{"product_id": fakes.product_id, "quantity": quantity}]
        tally.add(session.post(f"{fakes.shop.url}{ADMIN_PREFIX}/checkout", timeout=30,
                               json={"line_items": line, "payment_method": "cod"}), 201, shop=quantity)
        tally.add(session.post(f"{fakes.shop.url}/wp-json/wc/v3/orders", params=KEYS, timeout=30,
                               json={"status": "processing", "line_items": line}), 201, shop=quantity)
        tally.add(session.get(f"{fakes.shop.url}/wp-json/wc/v3/products/{fakes.product_id}", params=KEYS,
                              timeout=30), 200)
    session.close()


def run_round(fakes: Fakes) -> Tally:
    tally = Tally()
    with ThreadPoolExecutor(CLIENTS) as pool:
        for future in [pool.submit(client, fakes, n, tally) for n in range(CLIENTS)]:
            future.result()
    return tally


def stocks(fakes: Fakes) -> tuple[int, int]:
    """Each system's stock as its API shows it."""
    session = direct_session()
    inventories = session.get(f"{fakes.crm.url}/api/v5/store/inventories", timeout=30,
                              params={"filter[offerExternalId][]": OFFER, "filter[details]": "1"},
                              headers={"X-API-KEY": CONNECTOR_KEY}).json()
    crm = inventories["offers"][0]["quantity"]
    shop = session.get(f"{fakes.shop.url}/wp-json/wc/v3/products/{fakes.product_id}", params=KEYS,
                       timeout=30).json()["stock_quantity"]
    return int(crm), int(shop)


def traced_bytes() -> int:
    gc.collect()
    return tracemalloc.get_traced_memory()[0]


def test_concurrent_clients_lose_no_stock_and_leak_no_memory(
        fakes: Fakes, record_property: Any) -> None:
    tracemalloc.start()
    try:
        first = run_round(fakes)  # also the warm-up: journal at its cap, pools and caches filled
        before = traced_bytes()
        second = run_round(fakes)
        growth = traced_bytes() - before
    finally:
        tracemalloc.stop()
    crm_taken, shop_taken = first.crm_taken + second.crm_taken, first.shop_taken + second.shop_taken
    print(f"\nload: {CLIENTS} clients, {first.requests + second.requests} requests, "
          f"{first.orders + second.orders} orders; memory growth over round 2: {growth} bytes "
          f"({growth // max(second.orders, 1)} per order kept)")
    record_property("requests", first.requests + second.requests)
    record_property("memory_growth_bytes", growth)
    assert first.server_errors + second.server_errors == []
    assert stocks(fakes) == (INITIAL - crm_taken, INITIAL - shop_taken)
    assert len(fakes.crm.app.journal.entries()) == JOURNAL_SIZE  # bounded, and full
    assert growth < BYTES_PER_ORDER_KEPT * second.orders
