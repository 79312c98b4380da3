"""``stocksim serve``: the fake CRM and the fake shop as standalone servers.

For driving the fakes from outside this process: the real plugin pointed at
the fake CRM, another language's client, or ``HttpTarget``. The two fakes are
wired to each other as in a real installation: the shop's connector calls the
CRM, and the CRM's catalog import fetches the shop's ``simla.xml``. The wiring
is part of the CRM's default settings, so an admin reset keeps it.

Nothing moves time here: each fake has its own manual clock, set through its
admin route (``PUT /__stocksim/clock``), as a docker stack's would be.

The rate limit is on by default (10 requests/s per key, as the real CRM), unlike
in the simulated runs: a standalone server is talked to at real speed.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from types import FrameType
from typing import Any, Callable, Iterator, Sequence

from fakes.base import FakeServer
from fakes.clock import Clock
from fakes.crm import CONNECTOR_KEY, MANAGER_KEY, SITE_CODE, CrmApp
from fakes.shop import CONSUMER_KEY, CONSUMER_SECRET, ShopApp
from fakes.shop.connector import CATALOG_FILE

REAL_RATE_LIMIT = 10
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def add_parser(subparsers: Any) -> None:
    """Registers ``serve`` on the CLI's subparsers (``argparse._SubParsersAction``)."""
    parser = subparsers.add_parser(
        "serve", help="run the fake CRM and the fake shop as servers until interrupted",
        description="Start the fake RetailCRM (API v5) and the fake WooCommerce (REST v3), wired to each "
                    "other, print their URLs and credentials, and serve until SIGINT or SIGTERM. "
                    "Simulated time moves only through each fake's PUT /__stocksim/clock.")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--crm-port", type=_port, default=0, metavar="PORT",
                        help="the fake CRM's port (default: 0, any free port)")
    parser.add_argument("--shop-port", type=_port, default=0, metavar="PORT",
                        help="the fake shop's port (default: 0, any free port)")
    parser.add_argument("--rate-limit", type=_count, default=REAL_RATE_LIMIT, metavar="N",
                        help=f"CRM requests per second per API key (default: {REAL_RATE_LIMIT}; 0 = no limit)")
    parser.add_argument("--json", action="store_true",
                        help="print one JSON line of URLs and credentials once both fakes are up")
    parser.set_defaults(func=serve)


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number >= 0, got {text!r}")
    return int(text)


def _port(text: str) -> int:
    port = _count(text)
    if port > 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text}")
    return port


@dataclass
class ServedFakes:
    crm: FakeServer
    shop: FakeServer

    def credentials(self) -> dict[str, dict[str, str]]:
        return {
            "crm": {"url": self.crm.url, "api_key": CONNECTOR_KEY, "manager_api_key": MANAGER_KEY},
            "shop": {"url": self.shop.url, "consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET},
        }

    def stop(self) -> None:
        self.shop.stop()
        self.crm.stop()


def start_fakes(host: str = "127.0.0.1", crm_port: int = 0, shop_port: int = 0, rate_limit: int = 0,
                clock: Clock | None = None) -> ServedFakes:
    """Both fakes listening and wired; raises ``OSError`` when a port is taken.

    With ``clock`` both fakes share it (in-process runs); otherwise each has its
    own, set through its admin clock route as a separate process's would be.
    """
    crm_app = CrmApp(clock or Clock(), rate_limit=rate_limit)
    crm = FakeServer(crm_app, host, crm_port).start()
    try:
        shop = FakeServer(ShopApp(clock or Clock(), crm_url=crm.url), host, shop_port).start()
    except OSError:
        crm.stop()
        raise
    crm_app.state.set_defaults({"sites": {SITE_CODE: {"yml_url": f"{shop.url}/{CATALOG_FILE}"}}})
    return ServedFakes(crm, shop)


def describe(fakes: ServedFakes, rate_limit: int) -> str:
    creds = fakes.credentials()
    crm, shop = creds["crm"], creds["shop"]
    limit = f"{rate_limit} requests/s per API key" if rate_limit else "off"
    return "\n".join([
        "stocksim serve: the fake CRM and the fake shop are up (Ctrl-C to stop)",
        f"CRM   {crm['url']}  (site {SITE_CODE})",
        f"      api key (the shop's connector): {crm['api_key']}",
        f"      manager api key:                {crm['manager_api_key']}",
        f"      rate limit: {limit}",
        f"shop  {shop['url']}  (catalog file {shop['url']}/{CATALOG_FILE})",
        f"      consumer key:    {shop['consumer_key']}",
        f"      consumer secret: {shop['consumer_secret']}",
        'time  PUT /__stocksim/clock {"now": <simulated seconds>} on each fake',
    ])


@contextmanager
def stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """SIGINT and SIGTERM set ``stop`` instead of killing the process, so the
    servers close their sockets and the exit status is 0."""
    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[int, Callable[..., Any] | int | None] = {s: signal.signal(s, handler) for s in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, old in previous.items():
            signal.signal(signum, old)


def serve(args: argparse.Namespace) -> int:
    stop = threading.Event()
    with stop_on_signals(stop):
        try:
            fakes = start_fakes(args.host, args.crm_port, args.shop_port, args.rate_limit)
        except OSError as exc:
            print(f"stocksim serve: {exc}", file=sys.stderr)
            return 1
        try:
            text = json.dumps(fakes.credentials()) if args.json else describe(fakes, args.rate_limit)
            print(text, flush=True)
            stop.wait()
        finally:
            fakes.stop()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m sim.serve [options]``, the same as ``stocksim serve [options]``."""
    parser = argparse.ArgumentParser(prog="stocksim")
    add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["serve", *(sys.argv[1:] if argv is None else argv)])
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
