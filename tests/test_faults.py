"""Fault injection (fakes/base.py) on both fakes, over real HTTP.

A fault rule answers in place of the fake: before authentication and before
the handler, so a faulted write changes nothing. Each test runs against the
fake CRM and the fake shop alike; only how a write looks and how each fake
spells an error differ.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

import pytest
import requests
import retailcrm
from woocommerce import API

from fakes.base import ADMIN_PREFIX, FakeApp, FakeServer
from fakes.crm import CONNECTOR_KEY, SITE_CODE, CrmApp
from fakes.shop import CONSUMER_KEY, CONSUMER_SECRET, ShopApp

CRM_KEY = {"X-API-KEY": CONNECTOR_KEY}
SHOP_KEYS = {"consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET}


@dataclass
class Fake:
    """One fake under test: a read and a write on its real API, and how many
    entities the write has made so far."""

    server: FakeServer
    read_path: str
    write_path: str
    write: Callable[[str], requests.Response]
    created: Callable[[], int]
    default_error: Callable[[requests.Response], bool]

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def app(self) -> FakeApp:
        return self.server.app

    def admin(self, method: str, path: str, **kwargs: Any) -> requests.Response:
        return requests.request(method, f"{self.url}{ADMIN_PREFIX}{path}", timeout=5, **kwargs)

    def add_fault(self, rule: dict[str, Any]) -> int:
        response = self.admin("POST", "/faults", json=rule)
        assert response.status_code == 201, response.text
        return int(response.json()["id"])

    def read(self) -> requests.Response:
        kwargs: dict[str, Any] = {"headers": CRM_KEY} if isinstance(self.app, CrmApp) else {"params": SHOP_KEYS}
        return requests.get(f"{self.url}{self.read_path}", timeout=5, **kwargs)


def crm_fake(server: FakeServer) -> Fake:
    crm: CrmApp = server.app  # type: ignore[assignment]

    def write(url: str) -> requests.Response:
        return requests.post(f"{url}/api/v5/customers/create", headers=CRM_KEY, timeout=5,
                             data={"site": SITE_CODE, "customer": json.dumps({"firstName": "Ann"})})

    def crm_error(response: requests.Response) -> bool:
        return response.json() == {"success": False, "errorMsg": "Service Unavailable"}

    return Fake(server, "/api/v5/reference/stores", "/api/v5/customers/create", write,
                lambda: len(crm.state.snapshot()["customers"]), crm_error)


def shop_fake(server: FakeServer) -> Fake:
    shop: ShopApp = server.app  # type: ignore[assignment]

    def write(url: str) -> requests.Response:
        return requests.post(f"{url}/wp-json/wc/v3/products", params=SHOP_KEYS, timeout=5,
                             json={"name": "Mug", "regular_price": "100"})

    def wc_error(response: requests.Response) -> bool:
        body = response.json()
        return {"code", "message", "data"} <= set(body)

    return Fake(server, "/wp-json/wc/v3/products", "/wp-json/wc/v3/products", write,
                lambda: len(shop.state.products), wc_error)


@pytest.fixture(scope="module")
def servers() -> Iterator[dict[str, FakeServer]]:
    with FakeServer(CrmApp()) as crm, FakeServer(ShopApp()) as shop:
        yield {"crm": crm, "shop": shop}


@pytest.fixture(params=["crm", "shop"])
def fake(request: pytest.FixtureRequest, servers: dict[str, FakeServer]) -> Fake:
    server = servers[request.param]
    made = crm_fake(server) if request.param == "crm" else shop_fake(server)
    assert made.admin("POST", "/reset").status_code == 200
    made.app.clock.set(0)
    return made


# -- matching and answering ------------------------------------------------------

def test_a_fault_answers_instead_of_the_fake_and_changes_nothing(fake: Fake) -> None:
    fault_id = fake.add_fault({"method": "POST", "path": fake.write_path, "status": 503})
    response = fake.write(fake.url)
    assert response.status_code == 503 and fake.default_error(response)
    assert response.headers["Content-Type"].startswith("application/json")
    assert fake.created() == 0  # the handler never ran
    assert fake.read().status_code == 200  # other requests are untouched
    journal = fake.admin("GET", "/journal").json()["requests"]
    assert [(e["path"], e["status"], e.get("fault")) for e in journal] == [
        (fake.write_path, 503, {"id": fault_id, "kind": "status"}), (fake.read_path, 200, None)]


def test_a_glob_path_a_method_and_a_custom_body(fake: Fake) -> None:
    fake.add_fault({"method": "get", "path": fake.read_path[:-3] + "*", "status": 429,
                    "body": {"why": "injected"}})
    read = fake.read()
    assert (read.status_code, read.json()) == (429, {"why": "injected"})
    assert fake.write(fake.url).status_code == 201 and fake.created() == 1  # a POST is not a GET


def test_times_then_the_fake_answers_again(fake: Fake) -> None:
    fake.add_fault({"path": fake.write_path, "status": 500, "times": 2})
    assert [fake.write(fake.url).status_code for _ in range(3)] == [500, 500, 201]
    assert fake.created() == 1
    [rule] = fake.admin("GET", "/faults").json()["faults"]
    assert (rule["hits"], rule["remaining"], rule["times"]) == (2, 0, 2)


def test_a_window_on_the_fakes_simulated_clock(fake: Fake) -> None:
    fake.add_fault({"path": fake.read_path, "status": 503, "from": 900, "until": 1800})
    statuses = []
    for now in (899, 900, 1799.5, 1800):
        assert fake.admin("PUT", "/clock", json={"now": now}).status_code == 200
        statuses.append(fake.read().status_code)
    assert statuses == [200, 503, 503, 200]


def test_the_first_matching_rule_wins(fake: Fake) -> None:
    fake.add_fault({"path": fake.read_path, "status": 502, "times": 1})
    fake.add_fault({"path": "/*", "status": 504})
    assert [fake.read().status_code for _ in range(2)] == [502, 504]


def test_the_admin_plane_is_never_faulted(fake: Fake) -> None:
    fake.add_fault({"path": "/*", "status": 503})
    assert fake.admin("GET", "/state").status_code == 200
    assert fake.admin("DELETE", "/faults").json() == {"cleared": True}
    assert fake.read().status_code == 200


# -- the other kinds: latency, reset, malformed ---------------------------------------

def test_latency_waits_on_the_wall_clock_then_the_fake_answers(fake: Fake) -> None:
    fake.add_fault({"kind": "latency", "method": "POST", "path": fake.write_path, "seconds": 0.4, "times": 1})
    started = time.monotonic()
    response = fake.write(fake.url)
    assert time.monotonic() - started >= 0.4
    assert response.status_code == 201 and fake.created() == 1  # answered normally, after the wait
    assert fake.app.clock.now() == 0  # simulated time did not move meanwhile
    started = time.monotonic()
    assert fake.write(fake.url).status_code == 201 and time.monotonic() - started < 0.4  # spent
    [entry, _] = fake.admin("GET", "/journal").json()["requests"]
    assert (entry["status"], entry["fault"]["kind"]) == (201, "latency")


def test_a_latency_longer_than_the_clients_timeout_is_a_timeout(fake: Fake) -> None:
    fake.add_fault({"kind": "latency", "path": fake.read_path, "seconds": 0.5, "times": 1})
    with pytest.raises(requests.Timeout):
        requests.get(f"{fake.url}{fake.read_path}", timeout=0.1)


def test_reset_closes_the_connection_without_an_answer_and_changes_nothing(fake: Fake) -> None:
    fault_id = fake.add_fault({"kind": "reset", "method": "POST", "path": fake.write_path, "times": 1})
    with pytest.raises((requests.ConnectionError, requests.exceptions.ChunkedEncodingError)):
        fake.write(fake.url)
    assert fake.created() == 0
    assert fake.write(fake.url).status_code == 201 and fake.created() == 1  # the fake serves on
    journal = fake.admin("GET", "/journal").json()["requests"]
    assert [(e["status"], e.get("fault")) for e in journal] == [(None, {"id": fault_id, "kind": "reset"}), (201, None)]


def test_reset_on_a_kept_alive_connection_drops_only_that_connection(fake: Fake) -> None:
    fake.add_fault({"kind": "reset", "path": fake.read_path, "times": 1})
    session = requests.Session()
    kwargs: dict[str, Any] = {"headers": CRM_KEY} if isinstance(fake.app, CrmApp) else {"params": SHOP_KEYS}
    with pytest.raises(requests.ConnectionError):
        session.get(f"{fake.url}{fake.read_path}", timeout=5, **kwargs)
    assert session.get(f"{fake.url}{fake.read_path}", timeout=5, **kwargs).status_code == 200


def test_malformed_answers_200_with_a_body_that_is_not_json_and_changes_nothing(fake: Fake) -> None:
    fake.add_fault({"kind": "malformed", "method": "POST", "path": fake.write_path, "times": 1})
    response = fake.write(fake.url)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("application/json")
    with pytest.raises(ValueError):
        response.json()
    assert fake.created() == 0


def test_malformed_may_carry_another_status(fake: Fake) -> None:
    fake.add_fault({"kind": "malformed", "path": fake.read_path, "status": 502})
    response = fake.read()
    assert response.status_code == 502 and not response.text.rstrip().endswith("}")


# -- narrowing a rule: skip and api_key ------------------------------------------------

def test_skip_lets_the_first_matching_requests_through(fake: Fake) -> None:
    fault_id = fake.add_fault({"path": fake.write_path, "status": 503, "skip": 2, "times": 1})
    assert [fake.write(fake.url).status_code for _ in range(4)] == [201, 201, 503, 201]
    assert fake.created() == 3
    [rule] = fake.admin("GET", "/faults").json()["faults"]
    assert (rule["id"], rule["skip"], rule["skipped"], rule["hits"]) == (fault_id, 2, 2, 1)


def test_a_skipping_rule_leaves_the_request_to_the_later_rules(fake: Fake) -> None:
    fake.add_fault({"path": fake.read_path, "status": 502, "skip": 1})
    fake.add_fault({"path": fake.read_path, "status": 504, "times": 1})
    assert [fake.read().status_code for _ in range(3)] == [504, 502, 502]


def test_api_key_limits_a_rule_to_one_client(fake: Fake) -> None:
    fake.add_fault({"path": fake.read_path, "status": 503, "api_key": "someone-else"})
    assert fake.read().status_code == 200
    own_key = CONNECTOR_KEY if isinstance(fake.app, CrmApp) else CONSUMER_KEY
    fake.add_fault({"path": fake.read_path, "status": 503, "api_key": own_key})
    assert fake.read().status_code == 503


def test_api_key_matches_the_crm_key_sent_as_a_form_field(servers: dict[str, FakeServer]) -> None:
    crm = crm_fake(servers["crm"])
    crm.admin("POST", "/reset")
    crm.add_fault({"path": "/api/v5/customers/create", "status": 503, "api_key": CONNECTOR_KEY})
    response = requests.post(f"{crm.url}/api/v5/customers/create", timeout=5,
                             data={"apiKey": CONNECTOR_KEY, "site": SITE_CODE,
                                   "customer": json.dumps({"firstName": "Ann"})})
    assert response.status_code == 503 and crm.created() == 0


# -- the registry ----------------------------------------------------------------------

def test_list_delete_one_clear_and_reset(fake: Fake) -> None:
    first = fake.add_fault({"path": "/a", "status": 503})
    second = fake.add_fault({"path": "/b", "status": 503, "times": 3, "body": None})
    listed = fake.admin("GET", "/faults").json()["faults"]
    assert listed[1] == {"id": second, "kind": "status", "method": None, "path": "/b", "status": 503, "times": 3,
                         "from": None, "until": None, "hits": 0, "remaining": 3, "body": None}
    assert fake.admin("DELETE", f"/faults/{first}").json() == {"deleted": first}
    assert fake.admin("DELETE", f"/faults/{first}").status_code == 404
    assert [r["id"] for r in fake.admin("GET", "/faults").json()["faults"]] == [second]
    assert fake.admin("POST", "/reset").status_code == 200
    assert fake.admin("GET", "/faults").json() == {"faults": []}
    assert fake.add_fault({"path": "/c", "status": 503}) > second  # ids are not reused


@pytest.mark.parametrize("rule, complaint", [
    ([], "JSON object"),
    ({"status": 503}, "path"),
    ({"path": "api/*", "status": 503}, "path"),
    ({"path": "/*"}, "status"),
    ({"path": "/*", "status": 99}, "status"),
    ({"path": "/*", "status": True}, "status"),
    ({"path": "/*", "status": 503, "times": 0}, "times"),
    ({"path": "/*", "status": 503, "from": "soon"}, "from"),
    ({"path": "/*", "status": 503, "from": 60, "until": 60}, "until"),
    ({"path": "/*", "status": 503, "kind": "nap"}, "kind"),
    ({"path": "/*", "status": 503, "kind": "latency", "seconds": 1}, "takes no status"),
    ({"path": "/*", "kind": "latency"}, "seconds"),
    ({"path": "/*", "kind": "latency", "seconds": 0}, "seconds"),
    ({"path": "/*", "kind": "latency", "seconds": 10.5}, "seconds"),
    ({"path": "/*", "kind": "reset", "body": {}}, "takes no body"),
    ({"path": "/*", "kind": "malformed", "status": 99}, "status"),
    ({"path": "/*", "status": 503, "seconds": 1}, "takes no seconds"),
    ({"path": "/*", "status": 503, "skip": -1}, "skip"),
    ({"path": "/*", "status": 503, "api_key": ""}, "api_key"),
    ({"path": "/*", "status": 503, "method": "GET /"}, "method"),
    ({"path": "/*", "status": 503, "unitl": 5}, "unitl"),
])
def test_bad_rules_are_refused(fake: Fake, rule: Any, complaint: str) -> None:
    response = fake.admin("POST", "/faults", json=rule)
    assert response.status_code == 400 and complaint in response.json()["error"]
    assert fake.admin("GET", "/faults").json() == {"faults": []}


def test_a_rule_that_is_not_json_is_refused(fake: Fake) -> None:
    response = fake.admin("POST", "/faults", data="{path", headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()) == (400, {"error": "body is not valid JSON"})


# -- what the official clients see ------------------------------------------------------

def test_the_official_clients_see_the_fault(servers: dict[str, FakeServer]) -> None:
    crm, shop = crm_fake(servers["crm"]), shop_fake(servers["shop"])
    for made in (crm, shop):
        made.admin("POST", "/reset")
    crm.add_fault({"path": "/api/v5/store/inventories*", "status": 503, "times": 1})
    client = retailcrm.v5(crm.url, CONNECTOR_KEY)
    refused = client.inventories()
    assert (refused.get_status_code(), refused.get_error_msg()) == (503, "Service Unavailable")
    assert client.inventories().is_successful()
    shop.add_fault({"method": "GET", "path": "/wp-json/wc/v3/products/*", "status": 503})
    wc = API(url=shop.url, consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET, timeout=5)
    product = wc.post("products", {"name": "Mug", "regular_price": "100"}).json()
    assert wc.get(f"products/{product['id']}").status_code == 503
    assert wc.get("products").status_code == 200
