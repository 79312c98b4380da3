"""``stocksim serve`` as a user runs it: a separate process, driven over HTTP
with the official clients, stopped by a signal. Every wait is bounded."""

from __future__ import annotations

import argparse
import json
import queue
import signal
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import IO, Iterator

import pytest
import requests
import retailcrm
from woocommerce import API

from fakes.crm import SITE_CODE
from sim import serve

ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT = 20.0
EXIT_TIMEOUT = 10.0


class ServeProcess:
    """``python -m sim.serve`` with its stdout read line by line on a thread,
    so that waiting for a line can time out."""

    def __init__(self, *args: str) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "sim.serve", *args], cwd=ROOT, text=True,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self._lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stdout is not None
        threading.Thread(target=self._pump, args=(self.proc.stdout,), daemon=True).start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._lines.put(line)

    def readline(self) -> str:
        try:
            return self._lines.get(timeout=STARTUP_TIMEOUT)
        except queue.Empty:
            self.kill()
            pytest.fail(f"no output from stocksim serve within {STARTUP_TIMEOUT} s")

    def stop(self, signum: int) -> int:
        self.proc.send_signal(signum)
        return self.proc.wait(timeout=EXIT_TIMEOUT)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=EXIT_TIMEOUT)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()


@pytest.fixture
def served_json() -> Iterator[ServeProcess]:
    process = ServeProcess("--json")
    yield process
    process.kill()


def test_serve_json_both_fakes_wired_rate_limited_and_stopped_by_sigterm(served_json: ServeProcess) -> None:
    creds = json.loads(served_json.readline())
    assert {k: sorted(v) for k, v in creds.items()} == {
        "crm": ["api_key", "manager_api_key", "url"], "shop": ["consumer_key", "consumer_secret", "url"]}
    crm_url, shop_url = creds["crm"]["url"], creds["shop"]["url"]

    crm = retailcrm.v5(crm_url, creds["crm"]["api_key"])
    assert crm.api_credentials().get_response()["sitesAvailable"] == [SITE_CODE]
    assert crm.sites().get_response()["sites"][SITE_CODE]["ymlUrl"] == f"{shop_url}/simla.xml"
    wc = API(url=shop_url, consumer_key=creds["shop"]["consumer_key"],
             consumer_secret=creds["shop"]["consumer_secret"], timeout=10)
    product = wc.post("products", {"name": "Mug", "sku": "MUG-1", "regular_price": "100", "manage_stock": True,
                                   "stock_quantity": 7})
    assert product.status_code == 201

    # The clocks are manual, one per fake; the wiring goes both ways.
    for url in (crm_url, shop_url):
        assert requests.put(f"{url}/__stocksim/clock", json={"now": 3600}, timeout=5).json()["now"] == 3600
    job = requests.post(f"{shop_url}/__stocksim/connector/jobs/icml", timeout=10).json()  # the shop calls the CRM
    assert (job["ran"], job["ok"]) == (True, True), job
    imported = requests.post(f"{crm_url}/__stocksim/catalog-import", timeout=10).json()  # the CRM fetches simla.xml
    assert imported["imports"][0]["offers"] == 1, imported
    offers = crm.inventories().get_response()["offers"]
    assert [o["externalId"] for o in offers] == [str(product.json()["id"])]

    # A burst on one key: the real CRM's 10 requests/s.
    with requests.Session() as session:
        burst = [session.get(f"{crm_url}/api/v5/reference/stores", timeout=5,
                             headers={"X-API-KEY": creds["crm"]["manager_api_key"]}) for _ in range(15)]
    refused = [r for r in burst if r.status_code == 503]
    assert refused and sum(r.status_code == 200 for r in burst) <= 10
    assert refused[0].json() == {"success": False, "errorMsg": "Rate limit exceeded"}
    assert "Retry-After" not in refused[0].headers

    assert served_json.stop(signal.SIGTERM) == 0


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_serve_plain_text_on_a_given_port_and_sigint() -> None:
    port = free_port()
    process = ServeProcess("--crm-port", str(port), "--rate-limit", "0")
    try:
        lines = [process.readline() for _ in range(9)]
        text = "".join(lines)
        assert f"CRM   http://127.0.0.1:{port}" in text and "rate limit: off" in text
        assert "stocksim-connector-key" in text and "ck_stocksim_local" in text
        statuses = {requests.get(f"http://127.0.0.1:{port}/api/v5/reference/stores", timeout=5,
                                 headers={"X-API-KEY": "stocksim-manager-key"}).status_code for _ in range(15)}
        assert statuses == {200}
        assert process.stop(signal.SIGINT) == 0
    finally:
        process.kill()


def test_serve_reports_a_taken_port(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        assert serve.main(["--shop-port", str(taken.getsockname()[1])]) == 1
    assert "cannot listen" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--rate-limit", "-1"], ["--crm-port", "70000"], ["--shop-port", "x"]])
def test_serve_refuses_bad_options(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        serve.main(argv)
    assert exit_info.value.code == 2 and "serve" in capsys.readouterr().err


def test_serve_registers_on_the_cli_subparsers() -> None:
    parser = argparse.ArgumentParser()
    serve.add_parser(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["serve", "--json", "--rate-limit", "0", "--host", "0.0.0.0"])
    assert (args.json, args.rate_limit, args.host, args.crm_port, args.shop_port, args.func) == (
        True, 0, "0.0.0.0", 0, 0, serve.serve)


def test_an_idle_fake_server_waits_in_select_instead_of_spinning(monkeypatch: pytest.MonkeyPatch) -> None:
    """waitress reads its loop timeout as an int: a fractional one became 0, and each idle fake
    spun a core and took the GIL from every request in the process (the suite ran 6x slower)."""
    from waitress import wasyncore

    from fakes.base import FakeServer
    from fakes.crm import CrmApp

    timeouts: list[float] = []
    real_poll = wasyncore.poll

    def recording_poll(timeout: float = 0.0, map: dict | None = None) -> None:  # noqa: A002 - wasyncore's name
        timeouts.append(timeout)
        real_poll(timeout, map)

    monkeypatch.setattr(wasyncore, "poll", recording_poll)
    with FakeServer(CrmApp()) as server:
        assert requests.get(f"{server.url}/__stocksim/clock", timeout=10).status_code == 200
    assert timeouts and min(timeouts) >= 1
