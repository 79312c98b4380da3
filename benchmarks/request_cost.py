"""The cost of one request to each fake, against a floor.

Each request is shaped as the official client sends it (the same URL, query, headers
and body; ``retailcrm`` puts the key in ``X-API-KEY``, ``woocommerce`` signs an OAuth
1.0a query over plain HTTP) and sent on one keep-alive ``requests.Session``. The floor
is a minimal WSGI app served by the same ``FakeServer`` (waitress, same threads and
timeouts) in the same process, answering the bytes the fake answered: status,
headers and body captured from the fake's own answer to the same request. So the
ratio is the fake's own work (routing, authentication, rules, serialisation) on top
of what HTTP on this machine costs anyway.

Measured: the CRM's ``GET /api/v5/store/inventories`` page of 250 offers with
warehouse details and ``POST /api/v5/orders/create``; the shop's
``GET /wp-json/wc/v3/products?per_page=100`` and ``POST /wp-json/wc/v3/orders``.
The shop's connector is detached for the shop's pair (``api_url`` empty), so an order
create is the shop's own work, not the shop plus a nested call to the CRM.
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import requests
from multidimensional_urlencode import urlencode as query_builder
from woocommerce.oauth import OAuth

from benchmarks.common import BenchError, ThreadProfiles, progress, write_profile
from fakes.base import FakeServer, direct_session
from sim.targets import EmbeddedFakes

OFFERS = 250
PRODUCTS = 100
ROUNDS = 5  # fake and floor alternate, so drift on a shared machine hits both alike


@dataclass
class Shaped:
    """One request as the official client sends it; ``url`` may differ per repetition (OAuth nonces)."""

    name: str
    method: str
    urls: Callable[[int], list[str]]
    headers: dict[str, str]
    body: bytes | None = None


class Floor:
    """The minimal WSGI app: reads the request body, answers the captured bytes."""

    name = "floor"

    def __init__(self) -> None:
        self.answer: tuple[str, list[tuple[str, str]], bytes] = ("200 OK", [], b"")

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        if length:
            environ["wsgi.input"].read(length)
        status, headers, body = self.answer
        start_response(status, headers)
        return [body]


def run(repetitions: int = 300, profile_dir: Path | None = None) -> dict[str, Any]:
    if repetitions < ROUNDS:
        raise BenchError(f"request cost needs at least {ROUNDS} repetitions")
    target = EmbeddedFakes()
    floor = Floor()
    floor_server = FakeServer(floor).start()  # type: ignore[arg-type]
    threads = ThreadProfiles() if profile_dir else None
    try:
        target.reset()
        shaped = _setup(target)
        if threads is not None:
            for served in (target.fakes.crm, target.fakes.shop):
                served._server.application = threads.wrap(served._server.application)  # type: ignore[attr-defined]
        session = direct_session()
        results = []
        for request in shaped:
            base = target.creds.crm_url if request.name.startswith("crm") else target.creds.shop_url
            results.append(_measure(session, request, base, floor_server.url, floor, repetitions))
            progress(f"request: {request.name}: fake {results[-1]['fake_us']:.0f} us, "
                     f"floor {results[-1]['floor_us']:.0f} us, ratio {results[-1]['ratio']:.2f}")
        profiles = write_profile(profile_dir, "request-servers", threads.session()) if threads and profile_dir else []
        return {"repetitions": repetitions, "requests": results, "profiles": profiles}
    finally:
        floor_server.stop()
        target.close()


def _setup(target: EmbeddedFakes) -> list[Shaped]:
    """250 offers in the CRM (products in the shop, the catalog import, a stock upload), and the requests."""
    from sim.simulation import Simulation  # the actors' official clients, as the suite builds them

    sim = Simulation(target)
    site = target.creds.site
    target.configure_crm({"sites": {site: {"catalog_kept_in_system": True, "store": "main", "stock_editing": True}}})
    ids: list[int] = []
    for start in range(0, OFFERS, 100):
        create = [{"name": f"Cost product {i}", "type": "simple", "sku": f"COST-{i:04d}", "regular_price": "500",
                   "manage_stock": True, "stock_quantity": 1_000_000} for i in range(start, min(OFFERS, start + 100))]
        ids += [p["id"] for p in sim.admin.api.post("products/batch", {"create": create}).json()["create"]]
    target.run_job("icml")
    target.catalog_import()
    entries = [{"externalId": str(i), "stores": [{"code": "main", "available": 1_000_000}, {"code": "spb", "available": 5}]}
               for i in ids]
    sim.manager.api.inventories_upload(entries, site)
    # The shop's pair measures the shop alone: no nested call to the CRM on an order create.
    target.configure_connector({"api_url": ""})

    crm, shop, creds = target.creds.crm_url, target.creds.shop_url, target.creds
    crm_headers = {"X-API-KEY": creds.manager_key}
    inventories = crm + "/api/v5/store/inventories?" + query_builder(
        {"filter": {"details": 1}, "limit": OFFERS, "page": 1})
    order = {"firstName": "Ivan", "lastName": "Petrov", "phone": "+79000000000",
             "items": [{"offer": {"externalId": str(ids[0])}, "quantity": 1}]}
    create_body = query_builder({"order": json.dumps(order), "site": site}).encode()

    def signed(path: str, method: str, query: dict[str, Any]) -> Callable[[int], list[str]]:
        def urls(n: int) -> list[str]:
            # Signed ahead of timing: each repetition needs a fresh nonce, as the client makes one per call.
            url = f"{shop}/wp-json/wc/v3/{path}" + (f"?{requests.compat.urlencode(query)}" if query else "")
            return [OAuth(url=url, consumer_key=creds.consumer_key, consumer_secret=creds.consumer_secret,
                          version="wc/v3", method=method, oauth_timestamp=int(time.time())).get_oauth_url()
                    for _ in range(n)]
        return urls

    woo_headers = {"user-agent": "WooCommerce-Python-REST-API/3.0.0", "accept": "application/json"}
    woo_order = json.dumps({"status": "processing", "line_items": [{"product_id": ids[0], "quantity": 1}]}).encode()
    return [
        Shaped("crm inventories page (250 offers)", "GET", lambda n: [inventories] * n, crm_headers),
        Shaped("crm order create", "POST", lambda n: [crm + "/api/v5/orders/create"] * n,
               {**crm_headers, "Content-Type": "application/x-www-form-urlencoded"}, create_body),
        Shaped(f"shop products page ({PRODUCTS} products)", "GET", signed("products", "GET", {"per_page": PRODUCTS}),
               woo_headers),
        Shaped("shop order create", "POST", signed("orders", "POST", {}),
               {**woo_headers, "content-type": "application/json;charset=utf-8"}, woo_order),
    ]


def _measure(session: requests.Session, request: Shaped, base: str, floor_url: str, floor: Floor,
             repetitions: int) -> dict[str, Any]:
    first = session.request(request.method, request.urls(1)[0], headers=request.headers, data=request.body)
    if first.status_code >= 400:
        raise BenchError(f"{request.name}: the fake answered HTTP {first.status_code}: {first.text[:300]}")
    skip = {"server", "date", "content-length", "connection", "transfer-encoding"}
    floor.answer = (f"{first.status_code} {first.reason}",
                    [(k, v) for k, v in first.headers.items() if k.lower() not in skip], first.content)
    per_round = repetitions // ROUNDS
    fake_rounds: list[float] = []
    floor_rounds: list[float] = []
    for _ in range(ROUNDS):
        urls = request.urls(per_round + 5)
        floor_urls = [floor_url + u[len(base):] for u in urls]
        fake_rounds.append(_time(session, request, urls))
        floor_rounds.append(_time(session, request, floor_urls))
    fake_us, floor_us = statistics.median(fake_rounds), statistics.median(floor_rounds)
    return {"name": request.name, "method": request.method, "status": first.status_code,
            "response_bytes": len(first.content), "fake_us": fake_us, "floor_us": floor_us,
            "ratio": fake_us / floor_us}


def _time(session: requests.Session, request: Shaped, urls: list[str]) -> float:
    """Microseconds per request over ``urls`` after 5 warm-up requests."""
    for url in urls[:5]:
        session.request(request.method, url, headers=request.headers, data=request.body).content
    started = time.perf_counter()
    for url in urls[5:]:
        response = session.request(request.method, url, headers=request.headers, data=request.body)
        response.content
        if response.status_code >= 400:
            raise BenchError(f"{request.name}: HTTP {response.status_code} during timing: {response.text[:200]}")
    return (time.perf_counter() - started) / (len(urls) - 5) * 1e6
