"""A month of a big shop: every job at its default cadence, orders on both sides, through HTTP.

The embedded fakes (``sim.targets.EmbeddedFakes``) with the connector inside the fake
shop, the SimPy ``Simulation`` driving the connector's jobs (inventories every 15 min,
history every 5 min, catalog file every 3 h) and the CRM's catalog import (every 4 h),
exactly as the suite runs them; customers check out on the site and CRM managers create
orders through the official ``retailcrm`` client, at seeded random (exponential) times.

Run it in a child process (``python -m benchmarks.month``, which ``stocksim bench`` does)
so the peak RSS is the month's alone. The child prints one JSON document on stdout.

Setup, not measured as part of the month but timed and reported beside it:
products are created through WooCommerce's batch endpoint (``POST products/batch``,
100 a request); the CRM learns the catalog the real way (the connector's catalog file,
then the CRM's catalog import); the warehouse quantities arrive through the CRM's bulk
API (``POST /api/v5/store/inventories/upload``, 250 offers a request). The third
warehouse is added through the fake CRM's admin settings (``stores``).

At the end the month is checked through the public APIs, so the benchmark cannot
silently measure nothing: every order placed is in both systems, the CRM's stock is
the initial stock less the units ordered (conservation), and after a last history and
stock run the shop shows, for every product, the CRM's quantity over the three
warehouses.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import sys
from pathlib import Path
from typing import Any, Generator

from benchmarks.common import BenchError, Stopwatch, ThreadProfiles, peak_rss_bytes, progress, write_profile
from sim.actors import ActorError, Product
from sim.simulation import Schedule, Simulation
from sim.targets import EmbeddedFakes, TargetError

DAY = 86_400.0
#: The three warehouses: the fake CRM's two, and a third added through its admin settings.
THIRD_STORE = ("msk", "Moscow warehouse")
STORES = ("main", "spb", THIRD_STORE[0])
#: Initial units per warehouse of every offer: enough that random orders never run one dry.
INITIAL = {"main": 60, "spb": 20, "msk": 20}
BATCH = 100  # WooCommerce's batch limit
UPLOAD = 250  # offers per inventories upload


def run(days: float, offers: int, orders_per_day: float, seed: int,
        profile_dir: Path | None = None) -> dict[str, Any]:
    if offers < 1 or days <= 0 or orders_per_day < 0:
        raise BenchError("the month needs offers >= 1, days > 0 and orders per day >= 0")
    threads = ThreadProfiles() if profile_dir else None
    client_profiler = None
    if profile_dir:
        from pyinstrument import Profiler
        client_profiler = Profiler(interval=0.0005, async_mode="disabled")
    target = EmbeddedFakes()
    if threads is not None:
        for served in (target.fakes.crm, target.fakes.shop):
            served._server.application = threads.wrap(served._server.application)  # type: ignore[attr-defined]
    try:
        total = Stopwatch()
        sim = Simulation(target, Schedule(), seed=seed)
        setup = _setup(target, sim, offers)
        # The world built now (10,000 products, offers, stock rows) lives for the whole month; each
        # full collection of the cyclic GC rescanned all of it, and the CRM's parse of the 4 MB
        # catalog file (130,000 elements) set off several: 0.6 s a catalog import instead of 0.3 s.
        # A long-running process with a large, stable heap freezes it once built.
        gc.collect()
        gc.freeze()
        setup_seconds = total.seconds()
        progress(f"month: setup done in {setup_seconds:.1f} s ({offers} offers); simulating {days:g} days")
        if client_profiler is not None:
            client_profiler.start()
        month = Stopwatch()
        placed = _month(sim, setup["products"], days, orders_per_day, seed)
        month_seconds = month.seconds()
        if client_profiler is not None:
            client_session = client_profiler.stop()
        wall = total.seconds()
        rss = peak_rss_bytes()
        check = _check(target, sim, setup, placed)
        profiles: list[str] = []
        if profile_dir:
            profiles += write_profile(profile_dir, "month-client", client_session)
            profiles += write_profile(profile_dir, "month-servers", threads.session() if threads else None)
        return {
            "days": days, "offers": offers, "warehouses": len(STORES), "orders_per_day_per_side": orders_per_day,
            "seed": seed, "wall_seconds": wall, "setup_seconds": setup_seconds, "month_seconds": month_seconds,
            "simulated_seconds": sim.now, "peak_rss_bytes": rss, "events": len(sim.timeline),
            "requests": _request_counts(target), "orders": placed["counts"], "setup": setup["how"],
            "check": check, "profiles": profiles,
        }
    finally:
        target.close()


# -- setup ----------------------------------------------------------------------------------
def _setup(target: EmbeddedFakes, sim: Simulation, offers: int) -> dict[str, Any]:
    site = target.creds.site
    target.reset()
    target.configure_crm({"stores": dict([THIRD_STORE]),
                          "sites": {site: {"catalog_kept_in_system": True, "store": "main", "stock_editing": True}}})
    target.configure_connector({"sync": "yes", "stores_for_uploading": list(STORES)})
    products: list[Product] = []
    total = sum(INITIAL.values())
    for start in range(0, offers, BATCH):
        create = [{"name": f"Bench product {i}", "type": "simple", "sku": f"BENCH-{i:06d}", "regular_price": "500",
                   "manage_stock": True, "stock_quantity": total} for i in range(start, min(offers, start + BATCH))]
        answer = sim.admin.api.post("products/batch", {"create": create})
        if answer.status_code >= 400:
            raise BenchError(f"products/batch refused: HTTP {answer.status_code} {answer.text[:300]}")
        for made in answer.json()["create"]:
            if "id" not in made or "error" in made:
                raise BenchError(f"products/batch refused a product: {made}")
            products.append(Product(id=made["id"], sku=made["sku"], name=made["name"]))
    icml = target.run_job("icml")
    imported = target.catalog_import()
    if imported.get("offers") != offers:
        raise BenchError(f"the CRM's catalog import read {imported.get('offers')} offers, expected {offers}: {icml}")
    for start in range(0, offers, UPLOAD):
        entries = [{"externalId": str(p.id), "stores": [{"code": s, "available": q} for s, q in INITIAL.items()]}
                   for p in products[start:start + UPLOAD]]
        answer = sim.manager.api.inventories_upload(entries, site)
        body = answer.get_response()
        if not answer.is_successful() or body.get("processedOffersCount") != len(entries):
            raise BenchError(f"inventories upload refused: {body}")
    how = {"products": f"shop REST batch (POST /wp-json/wc/v3/products/batch, {BATCH} a request)",
           "catalog": "connector catalog file + CRM catalog import (ICML over HTTP)",
           "stock": f"CRM bulk API (POST /api/v5/store/inventories/upload, {UPLOAD} offers a request)",
           "third_warehouse": f"fake CRM admin settings (PUT /__stocksim/settings stores={THIRD_STORE[0]})"}
    return {"products": products, "initial_total": total * offers, "how": how}


# -- the month ------------------------------------------------------------------------------
def _month(sim: Simulation, products: list[Product], days: float, orders_per_day: float,
           seed: int) -> dict[str, Any]:
    counts = {"site": 0, "crm": 0, "refused": 0}
    units = {"site": 0, "crm": 0}
    end = days * DAY
    watch = Stopwatch()

    def arrivals(side: str) -> Generator[Any, Any, None]:
        if orders_per_day <= 0:
            return
        rng = random.Random(f"{seed}:{side}")
        rate = orders_per_day / DAY
        while True:
            yield sim.env.timeout(rng.expovariate(rate))
            if sim.now >= end:
                return
            product, quantity = products[rng.randrange(len(products))], rng.randint(1, 3)
            try:
                if side == "site":
                    sim.act("customer.checkout", f"{quantity} x {product.sku}",
                            lambda: sim.customer.checkout(product, quantity))
                else:
                    sim.act("crm.manager.order", f"{quantity} x {product.sku}",
                            lambda: sim.manager.create_order(product, quantity))
            except (TargetError, ActorError) as exc:
                counts["refused"] += 1
                progress(f"month: a {side} order was refused: {str(exc)[:200]}")
                continue
            counts[side] += 1
            units[side] += quantity

    def daily() -> Generator[Any, Any, None]:
        day = 0
        while True:
            yield sim.env.timeout(DAY)
            day += 1
            # Each day leaves ~2,000 orders and their history behind in both fakes, alive to the end;
            # unfrozen, the cyclic GC's full collections rescanned them all, set off by every page of
            # JSON parsed (load_json grew from 8% to 19% of the run by the second week).
            gc.freeze()
            progress(f"month: day {day}/{days:g} after {watch.seconds():.1f} s wall; "
                     f"orders site {counts['site']}, crm {counts['crm']}")

    sim.start()
    for side in ("site", "crm"):
        sim.env.process(arrivals(side))
    sim.env.process(daily())
    sim.advance(end - sim.now)
    return {"counts": counts, "units": units}


# -- the check -------------------------------------------------------------------------------
def _check(target: EmbeddedFakes, sim: Simulation, setup: dict[str, Any], placed: dict[str, Any]) -> dict[str, Any]:
    """Through the public APIs, after one last history run and stock run."""
    history, inventories = target.run_job("history"), target.run_job("inventories")
    crm_stock: dict[str, Any] = {}
    page = 1
    while True:
        answer = sim.manager.api.inventories({"details": 1}, limit=250, page=page).get_response()
        for offer in answer.get("offers", []):
            crm_stock[str(offer.get("externalId"))] = offer.get("quantity")
        if page >= answer["pagination"]["totalPageCount"]:
            break
        page += 1
    shop_stock: dict[str, Any] = {}
    page = 1
    while True:
        answer = sim.admin.api.get("products", params={"per_page": 100, "page": page})
        for product in answer.json():
            shop_stock[str(product["id"])] = product.get("stock_quantity")
        if page >= int(answer.headers.get("X-WP-TotalPages", "1")):
            break
        page += 1
    crm_orders = sim.manager.api.orders({}, limit=20, page=1).get_response()["pagination"]["totalCount"]
    shop_orders = int(sim.admin.api.get("orders", params={"per_page": 1}).headers.get("X-WP-Total", "-1"))
    counts, units = placed["counts"], placed["units"]
    ordered = counts["site"] + counts["crm"]
    units_total = units["site"] + units["crm"]
    expected_total = setup["initial_total"] - units_total
    crm_total = sum(q or 0 for q in crm_stock.values())
    mismatched = sorted(pid for pid, q in shop_stock.items() if crm_stock.get(pid) != q)
    checks = {
        "crm_orders_equal_placed": crm_orders == ordered,
        "shop_orders_equal_placed": shop_orders == ordered,
        "crm_stock_conserved": crm_total == expected_total,
        "shop_matches_crm": not mismatched and len(shop_stock) == len(crm_stock) == len(setup["products"]),
        "jobs_ran": history.get("ok", False) and inventories.get("ok", False),
        "orders_placed": ordered > 0 or sim.now == 0,
    }
    return {"ok": all(checks.values()), "checks": checks, "orders_placed": ordered, "units_ordered": units_total,
            "crm_orders": crm_orders, "shop_orders": shop_orders, "crm_stock_total": crm_total,
            "expected_crm_stock_total": expected_total, "shop_products": len(shop_stock),
            "shop_crm_mismatches": len(mismatched), "first_mismatches": mismatched[:5]}


def _request_counts(target: EmbeddedFakes) -> dict[str, int]:
    """How many real-API requests each fake answered (its journal's sequence number)."""
    return {name: served.app.journal._seq for name, served in  # noqa: SLF001 - a counter, read once
            (("crm", target.fakes.crm), ("shop", target.fakes.shop))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.month",
                                     description="One month of a big shop; prints one JSON document on stdout.")
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--offers", type=int, default=10_000)
    parser.add_argument("--orders-per-day", type=float, default=1_000)
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--profile", type=Path, default=None, metavar="DIR")
    args = parser.parse_args(argv)
    try:
        result = run(args.days, args.offers, args.orders_per_day, args.seed, args.profile)
    except BenchError as exc:
        print(json.dumps({"error": str(exc)}))
        return 2
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
