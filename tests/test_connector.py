"""The woo-retailcrm model against the fake CRM (module-behaviour.md §2-§5).

Most tests run the shop and the fake CRM on real sockets with one clock and
drive jobs through the shop's control route, the contract the docker target
offers for the real plugin. A small recording CRM checks request shapes the
fake CRM does not expose.
"""

from __future__ import annotations

import json
from typing import Any, Iterator
from urllib.parse import parse_qs

import pytest
import requests
from woocommerce import API
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from fakes.base import FakeApp, FakeServer, json_response
from fakes.clock import Clock
from fakes.crm import MANAGER_KEY, SITE_CODE, CrmApp
from fakes.shop import CONSUMER_KEY, CONSUMER_SECRET, ShopApp
from fakes.shop.connector import assemble_orders, php_query
from fakes.shop.state import LineInput

CLOCK = Clock()


@pytest.fixture(scope="module")
def servers() -> Iterator[tuple[FakeServer, FakeServer]]:
    with FakeServer(CrmApp(CLOCK)) as crm_server, FakeServer(ShopApp(CLOCK, crm_url=crm_server.url)) as shop_server:
        yield crm_server, shop_server


@pytest.fixture
def crm(servers: tuple[FakeServer, FakeServer]) -> CrmApp:
    crm_server, shop_server = servers
    app: CrmApp = crm_server.app  # type: ignore[assignment]
    app.reset()
    app.journal.clear()
    app.state.update_settings({"sites": {SITE_CODE: {"yml_url": f"{shop_server.url}/simla.xml"}}})
    return app


@pytest.fixture
def shop(servers: tuple[FakeServer, FakeServer], crm: CrmApp) -> ShopApp:
    app: ShopApp = servers[1].app  # type: ignore[assignment]
    app.reset()
    app.journal.clear()
    CLOCK.set(0)
    return app


@pytest.fixture
def shop_url(servers: tuple[FakeServer, FakeServer]) -> str:
    return servers[1].url


def run(shop_url: str, job: str) -> dict[str, Any]:
    response = requests.post(f"{shop_url}/__stocksim/connector/jobs/{job}", timeout=10)
    assert response.status_code == 200
    return response.json()


def product(shop: ShopApp, qty: int | None = 10, **fields: Any) -> int:
    fields = {"name": "Mug", "regular_price": "100", "manage_stock": qty is not None, "stock_quantity": qty, **fields}
    return shop.state.create_product(**fields).id


def publish_catalog(shop: ShopApp, crm: CrmApp, shop_url: str) -> None:
    """The shop writes its catalog file; the CRM imports it and so learns the offers."""
    assert run(shop_url, "icml")["ok"]
    response = requests.post(f"{crm_url(crm, shop)}/__stocksim/catalog-import", timeout=10)
    assert response.status_code == 200, response.text


def crm_url(crm: CrmApp, shop: ShopApp) -> str:
    return str(shop.connector.settings["api_url"])


def crm_stock(crm: CrmApp, rows: dict[int, dict[str, int]]) -> None:
    """A warehouse upload by a CRM user: absolute per-store quantities."""
    crm.state.upload_inventories(MANAGER_KEY, [
        {"externalId": str(pid), "stores": [{"code": store, "available": qty} for store, qty in stores.items()]}
        for pid, stores in rows.items()], None)


def qty(shop: ShopApp, pid: int) -> int | None:
    return shop.state.products[pid].stock_quantity


def crm_calls(crm: CrmApp) -> list[str]:
    return [f"{e['method']} {e['path']}" for e in crm.journal.entries()]


def crm_order(crm: CrmApp, external_id: int) -> dict[str, Any]:
    return crm.state.get_order(MANAGER_KEY, str(external_id), "externalId")


def manager_order(crm: CrmApp, pid: int, quantity: int = 2, status: str = "new") -> int:
    order = crm.state.create_order(MANAGER_KEY, {
        "status": status, "firstName": "Ivan", "lastName": "Petrov", "email": "ivan@example.com",
        "items": [{"offer": {"externalId": str(pid)}, "quantity": quantity}]})
    return int(order["id"])


def set_crm_status(crm: CrmApp, crm_id: int, status: str) -> None:
    crm.state.edit_order(MANAGER_KEY, str(crm_id), {"status": status}, "id")


# ----------------------------------------------------------------------- inventories (§2)
def test_inventories_sets_absolute_stock_with_the_plugins_request(shop: ShopApp, crm: CrmApp, shop_url: str) -> None:
    pid = product(shop, 10)
    publish_catalog(shop, crm, shop_url)
    crm_stock(crm, {pid: {"main": 4}})
    crm.journal.clear()
    result = run(shop_url, "inventories")
    assert (result["ran"], result["ok"], result["requests"], result["changed"]) == (True, True, 1, {str(pid): 4})
    shop.state.update_product(pid, {"stock_quantity": 9})
    run(shop_url, "inventories")
    assert qty(shop, pid) == 4  # absolute: whatever the shop holds is overwritten
    call = crm.journal.entries()[0]
    assert call["path"] == "/api/v5/store/inventories"
    assert call["query"] == ("apiKey=stocksim-connector-key&filter%5Bdetails%5D=1&page=1&limit=250"
                             "&cms_source=WordPress&cms_version=6.8.1&woo_version=9.9.5&php_version=8.3.21"
                             "&module_version=5.0.14&ga_option_is_active=0")


def test_inventories_store_selection_ignores_single_store_offers(shop: ShopApp, crm: CrmApp, shop_url: str) -> None:
    two_stores, one_store = product(shop, 0, sku="A"), product(shop, 0, sku="B")
    publish_catalog(shop, crm, shop_url)
    crm_stock(crm, {two_stores: {"main": 5, "spb": 2}, one_store: {"main": 7}})
    shop.connector.update_settings({"stores_for_uploading": ["spb"]})
    run(shop_url, "inventories")
    assert (qty(shop, two_stores), qty(shop, one_store)) == (2, 7)


def test_inventories_sums_variations_into_the_parent(shop: ShopApp, crm: CrmApp, shop_url: str) -> None:
    parent = shop.state.create_product(type="variable", name="Shirt")
    red, blue = (shop.state.create_product(type="variation", parent_id=parent.id, name=n, regular_price="5").id
                 for n in ("Red", "Blue"))
    unmanaged = product(shop, None, sku="U")
    publish_catalog(shop, crm, shop_url)
    crm_stock(crm, {red: {"main": 3}, blue: {"main": 4}, unmanaged: {"main": 1}})
    run(shop_url, "inventories")
    assert (qty(shop, red), qty(shop, blue), parent.stock_quantity, qty(shop, unmanaged)) == (3, 4, 7, 1)
    assert parent.manage_stock and shop.state.products[unmanaged].manage_stock  # turned on by the job


def test_inventories_only_with_sync_and_a_failed_page_changes_nothing(shop: ShopApp, crm: CrmApp,
                                                                      shop_url: str) -> None:
    pid = product(shop, 10)
    shop.connector.update_settings({"sync": "no"})
    assert run(shop_url, "inventories") == {"job": "inventories", "ran": False, "ok": True, "requests": 0,
                                            "detail": "sync is off", "changed": {}}
    shop.connector.update_settings({"sync": "yes", "api_key": "wrong-key"})
    failed = run(shop_url, "inventories")
    assert (failed["ran"], failed["ok"], failed["changed"], qty(shop, pid)) == (True, False, {}, 10)
    assert "HTTP 403" in failed["detail"]


def test_an_inventories_set_overwrites_a_reduction_made_while_it_ran_and_the_journal_shows_it(
        shop: ShopApp, crm: CrmApp, shop_url: str) -> None:
    """woocommerce.md §3.7: the job's absolute set carries the CRM number it read before the
    order, so the order's reduction is lost; the shop's journal shows both writes in order."""
    pid = product(shop, 10)
    publish_catalog(shop, crm, shop_url)
    crm_stock(crm, {pid: {"main": 10}})
    wc = API(url=shop_url, consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET, timeout=10)
    placed: list[dict[str, Any]] = []

    def order_between_read_and_write(method: str, url: str, status: int) -> None:
        # Runs on the job's thread once the CRM answered, before the job writes anything.
        if "/store/inventories" in url and not placed:
            line = {"product_id": pid, "quantity": 2}
            placed.append(wc.post("orders", {"status": "processing", "line_items": [line]}).json())

    shop.journal.clear()
    shop.connector.http.on_response.append(order_between_read_and_write)
    try:
        assert run(shop_url, "inventories")["changed"] == {str(pid): 10}
    finally:
        shop.connector.http.on_response.remove(order_between_read_and_write)
    assert qty(shop, pid) == 10 and placed[0]["line_items"][0]["meta_data"][0]["value"] == "2"
    entries = requests.get(f"{shop_url}/__stocksim/journal", timeout=10).json()["requests"]
    moves = [(e["method"], e["path"], move["from"], move["to"], move["cause"]) for e in entries for move in e["stock"]]
    assert moves == [
        ("POST", "/wp-json/wc/v3/orders", 10, 8, f"order {placed[0]['id']} reduce"),
        ("POST", "/__stocksim/connector/jobs/inventories", 8, 10, "inventories set"),
    ]


# ----------------------------------------------------------------------- order upload (§4)
def test_a_batch_is_one_request_for_the_plugin(shop: ShopApp, crm: CrmApp, shop_url: str) -> None:
    """The plugin's shutdown pushes see a whole batch: created orders are uploaded, but updates
    in a request where woocommerce_new_order fired are not (module-behaviour.md §4.1)."""
    pid = product(shop, 10)
    publish_catalog(shop, crm, shop_url)
    existing = shop.state.create_order(status="processing", line_items=[LineInput(product_id=pid, quantity=1)])
    wc = API(url=shop_url, consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET, timeout=10)
    line = {"product_id": pid, "quantity": 2}
    crm.journal.clear()
    answer = wc.post("orders/batch", {"create": [{"status": "processing", "line_items": [line]}, {"status": 5}],
                                      "update": [{"id": existing.id, "status": "cancelled"}]}).json()
    created = answer["create"][0]["id"]
    assert crm_calls(crm) == ["POST /api/v5/orders/create"]  # one upload; the failed item fired nothing
    assert (crm_order(crm, created)["status"], crm_order(crm, existing.id)["status"]) == ("assembling", "assembling")
    assert qty(shop, pid) == 8  # 10 - 1 - 2 + 1: the cancel restored stock all the same
    crm.journal.clear()
    wc.put("orders/batch", {"update": [{"id": created, "status": "completed"}, {"id": existing.id,
                                                                               "status": "completed"}]})
    assert crm_calls(crm) == [f"GET /api/v5/orders/{created}", f"POST /api/v5/orders/{created}/edit",
                              f"GET /api/v5/orders/{existing.id}", f"POST /api/v5/orders/{existing.id}/edit"]
    assert crm_order(crm, existing.id)["status"] == "complete"


def test_checkout_uploads_the_order_with_its_pre_payment_status(shop: ShopApp, crm: CrmApp, shop_url: str) -> None:
    pid = product(shop, 10)
    publish_catalog(shop, crm, shop_url)
    crm.journal.clear()
    response = requests.post(f"{shop_url}/__stocksim/checkout", timeout=10, json={
        "line_items": [{"product_id": pid, "quantity": 2}], "payment_method": "cod",
        "billing": {"first_name": "Ann", "last_name": "Lee", "email": "Ann@Example.com", "phone": "+7900"}})
    order = response.json()
    assert order["status"] == "processing" and qty(shop, pid) == 8
    uploaded = crm_order(crm, order["id"])
    assert (uploaded["status"], uploaded["email"], uploaded["items"][0]["quantity"]) == ("new", "ann@example.com", 2)
    line_id = order["line_items"][0]["id"]
    assert uploaded["items"][0]["externalIds"] == [{"code": "woocomerce", "value": f"{pid}_{line_id}"}]
    assert crm_calls(crm) == ["POST /api/v5/orders/create"]  # the gateway's status change is not pushed


def test_rest_order_is_created_with_its_final_status_and_a_cancel_is_pushed(shop: ShopApp, crm: CrmApp,
                                                                             shop_url: str) -> None:
    pid = product(shop, 10)
    publish_catalog(shop, crm, shop_url)
    created = shop.state.create_order(status="processing", line_items=[LineInput(product_id=pid, quantity=2)])
    assert crm_order(crm, created.id)["status"] == "assembling"
    crm.journal.clear()
    with shop.state.request():
        shop.state.update_order(created.id, status="cancelled")
        assert crm_calls(crm) == []  # pushed at shutdown, not at the save
    assert qty(shop, pid) == 10 and crm_order(crm, created.id)["status"] == "cancel-other"
    assert crm_calls(crm) == [f"GET /api/v5/orders/{created.id}", f"POST /api/v5/orders/{created.id}/edit"]


def test_unmapped_status_is_not_sent_and_deactivate_update_order_stops_pushes(shop: ShopApp, crm: CrmApp,
                                                                              shop_url: str) -> None:
    pid = product(shop, 10)
    publish_catalog(shop, crm, shop_url)
    order = shop.state.create_order(status="processing", line_items=[LineInput(product_id=pid, quantity=1)])
    shop.state.update_order(order.id, status="refunded")  # mapped to not-upload: edit without status
    assert crm_order(crm, order.id)["status"] == "assembling"
    shop.connector.update_settings({"deactivate_update_order": "yes"})
    crm.journal.clear()
    shop.state.update_order(order.id, status="cancelled")
    assert crm_calls(crm) == [] and crm_order(crm, order.id)["status"] == "assembling"


# ----------------------------------------------------------------------- history (§5)
def test_history_creates_a_pending_order_and_a_later_complete_reduces_stock(shop: ShopApp, crm: CrmApp,
                                                                          shop_url: str) -> None:
    pid = product(shop, 10)
    publish_catalog(shop, crm, shop_url)
    crm_id = manager_order(crm, pid, 2)
    first = run(shop_url, "history")
    assert first["ok"] and first["changed"] == {}
    [order] = shop.state.orders.values()
    assert (order.status, order.created_via, order.stock_reduced) == ("pending", "", False)
    assert [(li.product_id, li.quantity, li.reduced_stock) for li in order.line_items] == [(pid, 2, None)]
    assert crm.state.get_order(MANAGER_KEY, str(crm_id), "id")["externalId"] == str(order.id)
    assert shop.connector.cursors["orders_since_id"] is not None
    CLOCK.set(300)
    set_crm_status(crm, crm_id, "complete")
    crm.journal.clear()
    second = run(shop_url, "history")
    assert (order.status, qty(shop, pid), second["changed"]) == ("completed", 8, {str(pid): 8})
    assert not any("/edit" in call or "/create" in call for call in crm_calls(crm))  # no echo


def test_history_initial_status_mapped_to_completed_never_takes_stock(shop: ShopApp, crm: CrmApp,
                                                                     shop_url: str) -> None:
    pid = product(shop, 10)
    publish_catalog(shop, crm, shop_url)
    crm_id = manager_order(crm, pid, 2, status="complete")
    run(shop_url, "history")
    [order] = shop.state.orders.values()
    assert (order.status, order.stock_reduced, qty(shop, pid)) == ("completed", True, 10)
    set_crm_status(crm, crm_id, "cancel-other")
    run(shop_url, "history")
    assert (order.status, qty(shop, pid)) == ("cancelled", 10)


def test_own_changes_are_not_echoed(shop: ShopApp, crm: CrmApp, shop_url: str) -> None:
    pid = product(shop, 10)
    publish_catalog(shop, crm, shop_url)
    order = shop.state.create_order(status="processing", line_items=[LineInput(product_id=pid, quantity=2)])
    shop.state.update_order(order.id, status="cancelled")
    modified = order.date_modified
    CLOCK.set(600)
    crm.journal.clear()
    result = run(shop_url, "history")
    assert result["ok"] and "created orders []" in result["detail"]
    assert (order.status, order.date_modified, len(shop.state.orders), qty(shop, pid)) == (
        "cancelled", modified, 1, 10)
    # The CRM's own item cancellations (source "code") are read, but nothing is written back.
    assert crm_calls(crm)[:2] == ["GET /api/v5/customers/history", "GET /api/v5/orders/history"]
    assert not any(call.startswith("POST") for call in crm_calls(crm))


def test_history_cursor_pages_by_since_id(shop: ShopApp, crm: CrmApp, shop_url: str) -> None:
    pid = product(shop, 1000)
    publish_catalog(shop, crm, shop_url)
    for _ in range(51):  # a creation and a status change each: 102 records, two pages of 100
        set_crm_status(crm, manager_order(crm, pid, 1), "client-confirmed")
    crm.journal.clear()
    run(shop_url, "history")
    queries = [e["query"] for e in crm.journal.entries() if e["path"] == "/api/v5/orders/history"]
    assert len(shop.state.orders) == 51 and len(queries) == 2
    assert "filter%5BstartDate%5D=2026-01-04+09%3A00%3A00" in queries[0]
    # The second page also holds the fix-external-ids records written while page one was applied.
    assert "filter%5BsinceId%5D=100" in queries[1]
    # The record written while the last page was applied waits for the next run.
    assert shop.connector.cursors["orders_since_id"] == crm.state.snapshot()["history"]["orders"] - 1
    run(shop_url, "history")  # only our own fix-external-ids records are new
    assert len(shop.state.orders) == 51


# ----------------------------------------------------------------------- icml (§3)
def test_icml_catalog_file(shop: ShopApp, crm: CrmApp, shop_url: str) -> None:
    managed = product(shop, -3, sku="NEG")
    unmanaged_in = product(shop, None, sku="IN")
    unmanaged_out = product(shop, None, sku="OUT", stock_status="outofstock")
    parent = shop.state.create_product(type="variable", name="Shirt", manage_stock=True, stock_quantity=6)
    variation = shop.state.create_product(type="variation", parent_id=parent.id, name="Shirt - Red",
                                          regular_price="9.5", sku="SH-R")
    shop.connector.update_settings({"bind_by_sku": "yes"})
    result = run(shop_url, "icml")
    assert result["ok"] and "upload task added" in result["detail"]
    assert "GET /api/v5/statistic/update" in crm_calls(crm)
    body = requests.get(f"{shop_url}/simla.xml", timeout=10)
    assert body.status_code == 200 and body.headers["Content-Type"].startswith("application/xml")
    text = body.text
    assert f'<offer id="{managed}" productId="{managed}" quantity="-3" type="product">' in text
    assert f'<offer id="{unmanaged_in}" productId="{unmanaged_in}" quantity="1"' in text
    assert f'<offer id="{unmanaged_out}" productId="{unmanaged_out}" quantity="0"' in text
    assert f'<offer id="{variation.id}" productId="{parent.id}" quantity="6"' in text
    assert "<xmlId>SH-R</xmlId>" in text and "<price>9.5</price>" in text and "<productName>Shirt</productName>" in text
    assert f'<offer id="{parent.id}"' not in text


# ----------------------------------------------------------------------- request shapes (recording CRM)
class RecordingCrm(FakeApp):
    """Answers with retailcrm-api.md shapes and keeps every form/query it was sent."""

    name = "recording-crm"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, list[str]]]] = []
        self.replies: dict[str, tuple[int, dict[str, Any]]] = {}
        super().__init__(CLOCK)

    def api_rules(self) -> Iterator[Rule]:
        yield Rule("/<path:path>", endpoint="record", methods=["GET", "POST"])

    def record(self, request: Request, path: str) -> Response:
        fields = parse_qs(request.get_data(as_text=True) if request.method == "POST"
                          else request.query_string.decode(), keep_blank_values=True)
        self.calls.append((request.method, "/" + path, fields))
        status, body = self.replies.get("/" + path, (200, {"success": True}))
        return json_response(body, status)

    def api_error(self, request: Request, status: int, message: str) -> Response:
        return json_response({"success": False, "errorMsg": message}, status)

    def reset(self) -> None:
        self.calls.clear()

    def state_snapshot(self) -> dict[str, Any]:
        return {"calls": len(self.calls)}


@pytest.fixture
def recording() -> Iterator[tuple[RecordingCrm, ShopApp]]:
    CLOCK.set(0)
    crm_app = RecordingCrm()
    with FakeServer(crm_app) as server:
        yield crm_app, ShopApp(CLOCK, crm_url=server.url)


def test_history_create_writes_item_external_ids_back_as_the_plugin_does(
        recording: tuple[RecordingCrm, ShopApp]) -> None:
    crm_app, shop = recording
    pid = product(shop, 10)
    snapshot = {"id": 7, "site": SITE_CODE, "status": "new", "createdAt": "2026-01-05 08:00:00",
                "customer": {"id": 3, "firstName": "Ivan", "email": "i@example.com"},
                "items": [{"id": 41, "quantity": 2, "offer": {"id": 900, "externalId": str(pid)}},
                          {"id": 42, "quantity": 1, "offer": {"id": 901, "externalId": "999"}}]}
    crm_app.replies["/api/v5/orders/history"] = (200, {
        "success": True, "pagination": {"limit": 100, "totalCount": 1, "currentPage": 1, "totalPageCount": 1},
        "history": [{"id": 5, "createdAt": "2026-01-05 08:00:00", "created": True, "source": "user",
                     "field": "status", "oldValue": None, "newValue": {"code": "new"}, "order": snapshot}]})
    crm_app.replies["/api/v5/orders/7"] = (200, {"success": True, "order": snapshot})
    assert shop.connector.run_job("history").ok
    [order] = shop.state.orders.values()
    assert [(li.product_id, li.quantity) for li in order.line_items] == [(pid, 2)]  # unknown offer skipped
    paths = [(m, p) for m, p, _ in crm_app.calls]
    assert paths == [("GET", "/api/v5/customers/history"), ("GET", "/api/v5/orders/history"),
                     ("GET", "/api/v5/orders/7"), ("POST", "/api/v5/orders/fix-external-ids"),
                     ("POST", "/api/v5/orders/7/edit")]
    fix = crm_app.calls[3][2]
    assert json.loads(fix["orders"][0]) == [{"id": 7, "externalId": order.id}]
    edit = crm_app.calls[4][2]
    assert edit["by"] == ["id"] and edit["apiKey"] == ["stocksim-connector-key"]
    # A PHP array keyed by CRM item id: json_encode makes it an object.
    assert json.loads(edit["order"][0]) == {"id": 7, "items": {"41": {
        "id": 41, "offer": {"id": 900},
        "externalIds": [{"code": "woocomerce", "value": f"{pid}_{order.line_items[0].id}"}]}}}
    assert shop.connector.cursors["orders_since_id"] == 5


def test_order_create_payload_and_a_failed_upload_is_lost(recording: tuple[RecordingCrm, ShopApp]) -> None:
    crm_app, shop = recording
    pid = product(shop, 10, sku="MUG")
    crm_app.replies["/api/v5/orders/create"] = (400, {"success": False, "errorMsg": "Order is not loaded"})
    order = shop.state.checkout([LineInput(product_id=pid, quantity=2)],
                                {"first_name": "Ann", "email": "ANN@x.io"}, "bacs")
    [(method, path, fields)] = crm_app.calls
    assert (method, path, fields["apiKey"]) == ("POST", "/api/v5/orders/create", ["stocksim-connector-key"])
    payload = json.loads(fields["order"][0])
    assert payload == {
        "externalId": order.id, "createdAt": "2026-01-05 09:00:00", "firstName": "Ann", "email": "ann@x.io",
        "countryIso": "RU", "status": "new", "discountManualAmount": 0, "discountManualPercent": 0,
        "isFromCart": True,
        "items": [{"offer": {"externalId": pid}, "productName": "Mug", "initialPrice": 100.0, "quantity": 2.0,
                   "externalIds": [{"code": "woocomerce", "value": f"{pid}_{order.line_items[0].id}"}],
                   "discountManualAmount": 0.0}],
    }
    assert order.status == "on-hold" and shop.connector.uploads["failed"] == 1
    shop.state.update_order(order.id, status="processing")  # a later save pushes an edit, no create retry
    assert [p for _, p, _ in crm_app.calls[1:]] == [f"/api/v5/orders/{order.id}", f"/api/v5/orders/{order.id}/edit"]


# ----------------------------------------------------------------------- pure helpers
def test_php_query_encoding() -> None:
    assert php_query({"filter": {"details": True, "ids": [1, 2]}, "name": "a b~", "none": None, "off": False}) == (
        "filter%5Bdetails%5D=1&filter%5Bids%5D%5B0%5D=1&filter%5Bids%5D%5B1%5D=2&name=a+b%7E&off=0")


def test_assembly_drops_own_changes_and_puts_the_creation_first() -> None:
    history = [
        {"id": 1, "source": "api", "apiKey": {"current": True}, "field": "status", "newValue": {"code": "new"},
         "order": {"id": 1, "externalId": "100", "status": "new"}},
        {"id": 2, "source": "user", "field": "status", "newValue": {"code": "complete"},
         "order": {"id": 2, "status": "complete"}},
        {"id": 3, "created": True, "source": "user", "field": "status", "oldValue": None,
         "newValue": {"code": "new"}, "order": {"id": 2, "status": "complete", "items": [{"id": 9, "quantity": 1}]}},
    ]
    assembled = assemble_orders(history)
    assert list(assembled) == [2]
    assert assembled[2]["status"] == "complete" and assembled[2]["create"] == 1
    assert assembled[2]["items"][9]["create"] == 1
