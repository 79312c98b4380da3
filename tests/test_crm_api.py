"""The fake RetailCRM over real HTTP: the official ``retailcrm`` client, and
``requests`` for the PHP module's encodings."""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Iterator

import pytest
import requests
import retailcrm

from fakes.base import FakeServer
from fakes.crm import CONNECTOR_KEY, MANAGER_KEY, SITE_CODE, CrmApp, CrmState
from fakes.crm.app import nested_params
from fakes.crm.catalog import IcmlOffer

V5 = "/api/v5"
HEADERS = {"X-API-KEY": CONNECTOR_KEY}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer(CrmApp()) as srv:
        yield srv


@pytest.fixture
def app(server: FakeServer) -> CrmApp:
    """A fresh CRM with offers 42 (10 at main) and 43 (5 at main)."""
    crm: CrmApp = server.app  # type: ignore[assignment]
    crm.reset()
    crm.state.catalog_import(SITE_CODE, [IcmlOffer(id="42", name="Mug", xml_id="SKU-42", price=500),
                                         IcmlOffer(id="43", name="Cup", xml_id="SKU-43", price=300)])
    crm.state.upload_inventories(CONNECTOR_KEY, [
        {"externalId": "42", "stores": [{"code": "main", "available": 10}]},
        {"externalId": "43", "stores": [{"code": "main", "available": 5}]}], None)
    return crm


@pytest.fixture
def url(server: FakeServer, app: CrmApp) -> str:
    return server.url


@pytest.fixture
def client(url: str) -> Any:
    return retailcrm.v5(url, CONNECTOR_KEY)


@pytest.fixture
def manager(url: str) -> Any:
    return retailcrm.v5(url, MANAGER_KEY)


def body(response: Any) -> dict[str, Any]:
    assert response.get_status_code() < 500
    return response.get_response()


def error(response: requests.Response) -> tuple[int, dict[str, Any]]:
    assert response.headers["Content-Type"] == "application/json; charset=utf-8"
    data = response.json()
    assert data["success"] is False
    return response.status_code, data


def stock(app: CrmApp, external_id: str = "42") -> Any:
    return app.state.stock(app.state.offer_id(external_id))


ORDER = {"externalId": "1001", "firstName": "Ann", "items": [{"offer": {"externalId": "42"}, "quantity": 2}]}


# -- transport -------------------------------------------------------------------

def test_nested_params_reads_every_client_encoding() -> None:
    pairs = [("filter", "None"), ("filter[details]", "1"), ("filter[offerExternalId][]", "a"),
             ("filter[offerExternalId][]", "b"), ("filter[ids][1]", "7"), ("filter[ids][0]", "6"),
             ("offers[0][stores][0][code]", "main"), ("limit", "250"), ("cms_source", "WordPress")]
    assert nested_params(pairs) == {
        "filter": {"details": "1", "offerExternalId": ["a", "b"], "ids": ["6", "7"]},
        "offers": [{"stores": [{"code": "main"}]}], "limit": "250", "cms_source": "WordPress",
    }
    assert nested_params([("filter[x]", "1"), ("filter", "None")]) == {"filter": {"x": "1"}}


@pytest.mark.parametrize("kwargs, status, message", [
    ({}, 403, '"apiKey" is missing.'),
    ({"headers": {"X-API-KEY": "nope"}}, 403, 'Wrong "apiKey" value.'),
    ({"params": {"apiKey": "nope"}}, 403, 'Wrong "apiKey" value.'),
])
def test_bad_keys_get_the_real_envelope(url: str, kwargs: dict[str, Any], status: int, message: str) -> None:
    assert error(requests.get(f"{url}{V5}/reference/stores", **kwargs)) == (
        status, {"success": False, "errorMsg": message})


@pytest.mark.parametrize("kwargs", [
    {"headers": {"x-api-key": CONNECTOR_KEY}},
    {"params": {"apiKey": CONNECTOR_KEY, "cms_source": "WordPress", "module_version": "5.0.14"}},
])
def test_key_from_header_any_case_or_query(url: str, kwargs: dict[str, Any]) -> None:
    assert requests.get(f"{url}{V5}/reference/stores", **kwargs).json()["success"] is True


def test_key_from_form_field(url: str) -> None:
    response = requests.post(f"{url}{V5}/orders/create",
                             data={"apiKey": CONNECTOR_KEY, "site": SITE_CODE, "order": json.dumps(ORDER)})
    assert response.status_code == 201


def test_unknown_path_wrong_method_and_crash_are_json(url: str, app: CrmApp,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    assert error(requests.get(f"{url}{V5}/nope", headers=HEADERS)) == (
        404, {"success": False, "errorMsg": "API method not found"})
    assert error(requests.post(f"{url}{V5}/store/inventories", headers=HEADERS)) == (
        405, {"success": False, "errorMsg": "Method Not Allowed"})

    def boom() -> None:
        raise RuntimeError("bug")

    monkeypatch.setattr(app.state, "stores_json", boom)
    assert error(requests.get(f"{url}{V5}/reference/stores", headers=HEADERS)) == (
        500, {"success": False, "errorMsg": "Internal server error"})


# -- bootstrap ---------------------------------------------------------------------

def test_bootstrap_with_official_client(client: Any, url: str) -> None:
    assert "5.0" in body(client.api_versions())["versions"]
    credentials = body(client.api_credentials())
    assert (credentials["siteAccess"], credentials["sitesAvailable"]) == ("access_selective", [SITE_CODE])
    assert "analytics_write" in credentials["scopes"]
    assert requests.get(f"{url}{V5}/credentials", headers=HEADERS).json() == credentials
    site = body(client.sites())["sites"][SITE_CODE]
    assert (site["name"], site["currency"], site["loadFromYml"]) == ("WooCommerce shop", "RUB", False)
    assert [s["code"] for s in body(client.stores())["stores"]] == ["main", "spb"]
    assert body(client.statuses())["statuses"]["no-call"]["group"] == "cancel"
    assert body(client.status_groups())["statusGroups"]["cancel"]["statuses"] == [
        "cancel-other", "no-call", "no-product"]
    assert body(client.product_statuses())["productStatuses"]["failure"]["cancelStatus"] is True
    assert body(client.statistic_update()) == {"success": True}


@pytest.mark.parametrize("method, field, code", [
    ("order_methods", "orderMethods", "shopping-cart"),
    ("delivery_types", "deliveryTypes", "courier"),
    ("payment_types", "paymentTypes", "cash"),
])
def test_reference_books_the_module_settings_page_reads(client: Any, method: str, field: str, code: str) -> None:
    books = body(getattr(client, method)())[field]
    assert all(key == entry["code"] and entry["active"] is True and entry["name"] for key, entry in books.items())
    assert set(books[code]) == {"code", "name", "active"}


# -- inventories ---------------------------------------------------------------------

def test_inventories_details_and_pagination(client: Any, app: CrmApp) -> None:
    app.state.catalog_import(SITE_CODE, [IcmlOffer(id=f"p{n}", name=f"P{n}") for n in range(43)])
    pages = [body(client.inventories({"details": True}, 20, page)) for page in (1, 2, 3, 4)]
    assert [len(p["offers"]) for p in pages] == [20, 20, 5, 0]
    assert pages[0]["pagination"] == {"limit": 20, "totalCount": 45, "currentPage": 1, "totalPageCount": 3}
    ids = [o["id"] for p in pages for o in p["offers"]]
    assert ids == sorted(ids, reverse=True)
    mug = pages[2]["offers"][-1]
    assert mug == {"id": 1, "externalId": "42", "xmlId": "SKU-42", "site": SITE_CODE, "quantity": 10,
                   "stores": [{"store": "main", "quantity": 10, "purchasePrice": 0}]}
    plain = body(client.inventories())  # sends filter=None
    assert "stores" not in plain["offers"][0] and plain["pagination"]["limit"] == 20


def test_inventories_php_encoding(url: str) -> None:
    query = ("filter[offerExternalId][0]=43&filter[details]=1&page=1&limit=250"
             f"&apiKey={CONNECTOR_KEY}&cms_source=WordPress&ga_option_is_active=0")
    data = requests.get(f"{url}{V5}/store/inventories?{query}").json()
    assert [(o["externalId"], o["stores"][0]["quantity"]) for o in data["offers"]] == [("43", 5)]


@pytest.mark.parametrize("query, field", [("limit=30", "limit"), ("page=0", "page"),
                                          ("filter[ids][]=x", "children[ids]")])
def test_inventories_bad_input(url: str, query: str, field: str) -> None:
    status, data = error(requests.get(f"{url}{V5}/store/inventories?{query}", headers=HEADERS))
    assert (status, data["errorMsg"]) == (400, "Errors in the input parameters")
    assert field in data["errors"]


def test_inventories_upload(client: Any, app: CrmApp, url: str) -> None:
    result = body(client.inventories_upload([
        {"externalId": "42", "stores": [{"code": "main", "available": 3}, {"code": "spb", "available": 2,
                                                                           "purchasePrice": 10.5}]},
        {"externalId": "999", "stores": [{"code": "main", "available": 1}]}], SITE_CODE))
    assert result == {"success": True, "processedOffersCount": 1, "notFoundOffers": [{"externalId": "999"}]}
    offer = body(client.inventories({"ids": [1], "details": 1}))["offers"][0]
    assert offer["quantity"] == 5 and offer["stores"][1] == {"store": "spb", "quantity": 2, "purchasePrice": 10.5}
    bad_store = client.inventories_upload([{"externalId": "42", "stores": [{"code": "moon", "available": 1}]}])
    assert bad_store.get_status_code() == 400
    assert bad_store.get_response()["errors"] == {"offers[0].stores[0].code": "Store with this code does not exist."}
    assert error(requests.post(f"{url}{V5}/store/inventories/upload", headers=HEADERS, data={"offers": "[{"})) == (
        400, {"success": False, "errorMsg": "Errors in the entity format",
              "errors": {"offers": "This value is not valid JSON."}})


# -- orders ----------------------------------------------------------------------------

def test_order_lifecycle_with_official_client(client: Any, app: CrmApp) -> None:
    created = client.order_create(ORDER, SITE_CODE)
    assert created.get_status_code() == 201 and created.is_successful()
    order = created.get_response()["order"]
    assert (created.get_response()["id"], order["number"], order["status"]) == (1, "1C", "new")
    assert order["items"][0]["offer"] == {"id": 1, "externalId": "42", "xmlId": "SKU-42", "name": "Mug"}
    assert (order["summ"], order["payments"]) == (1000, {})
    assert stock(app) == 8
    edited = body(client.order_edit({"externalId": "1001", "status": "cancel-other"}, site=SITE_CODE))
    assert edited["order"]["items"][0]["status"] == "failure" and stock(app) == 10
    by_id = body(client.order_edit({"id": 1, "status": "complete"}, uid_type="id", site=SITE_CODE))
    assert by_id["order"]["status"] == "complete"
    assert body(client.order("1001"))["order"]["status"] == "complete"
    assert body(client.order(1, "id", SITE_CODE))["order"]["externalId"] == "1001"


def test_orders_list_filters(client: Any) -> None:
    for n in range(3):
        client.order_create({**ORDER, "externalId": str(n)}, SITE_CODE)
    client.order_edit({"externalId": "1", "status": "no-call"})
    listing = body(client.orders({"extendedStatus": ["cancel"]}))
    assert [o["externalId"] for o in listing["orders"]] == ["1"]
    assert [o["id"] for o in body(client.orders())["orders"]] == [3, 2, 1]
    assert body(client.orders({"externalIds": ["0", "2"]}, 50))["pagination"]["totalCount"] == 2


def test_order_edit_php_encoding_replaces_items(url: str, app: CrmApp, client: Any) -> None:
    client.order_create(ORDER, SITE_CODE)
    order = json.dumps({"externalId": "1001", "items": [{"offer": {"xmlId": "SKU-43"}, "quantity": 1}]},
                       separators=(",", ":")).replace("/", "\\/")
    response = requests.post(f"{url}{V5}/orders/1001/edit", data={
        "apiKey": CONNECTOR_KEY, "by": "externalId", "site": SITE_CODE, "order": order})
    assert [i["offer"]["externalId"] for i in response.json()["order"]["items"]] == ["43"]
    assert (stock(app, "42"), stock(app, "43")) == (10, 4)


@pytest.mark.parametrize("data, status, message, errors", [
    ({}, 400, "Parameter 'order' is missing", None),
    ({"order": "{not json"}, 400, "Errors in the entity format", {"order": "This value is not valid JSON."}),
    ({"order": json.dumps({"items": [{"offer": {"externalId": "nope"}}]})}, 400, "Order is not loaded",
     {"items[0].offer": "Offer not found."}),
    ({"order": json.dumps({"status": "lost"})}, 400, "Order is not loaded",
     {"status": "Status 'lost' does not exist."}),
    ({"order": json.dumps({"shipmentStore": "moon"})}, 400, "Order is not loaded",
     {"shipmentStore": "Store 'moon' does not exist."}),
    ({"order": "{}", "site": "other-shop"}, 403, "Access denied.", None),
])
def test_order_create_errors(url: str, data: dict[str, str], status: int, message: str,
                             errors: dict[str, str] | None) -> None:
    expected: dict[str, Any] = {"success": False, "errorMsg": message}
    if errors:
        expected["errors"] = errors
    assert error(requests.post(f"{url}{V5}/orders/create", headers=HEADERS, data=data)) == (status, expected)


def test_duplicate_order_and_unknown_orders(client: Any, url: str) -> None:
    client.order_create(ORDER, SITE_CODE)
    duplicate = client.order_create(ORDER, SITE_CODE)
    assert (duplicate.get_status_code(), duplicate.get_error_msg()) == (400, "Order already exists.")
    missing = client.order_edit({"externalId": "nope", "status": "complete"})
    assert (missing.get_status_code(), missing.get_response()) == (404, {"success": False, "errorMsg": "Not found"})
    assert client.order("nope").get_status_code() == 404
    assert client.order("abc", "id").get_status_code() == 404
    bad_by = requests.get(f"{url}{V5}/orders/1001?by=number", headers=HEADERS)
    assert error(bad_by)[1]["errorMsg"] == "Errors in the input parameters"


def test_orders_upload_creates_each_order_like_create(client: Any, app: CrmApp) -> None:
    uploaded = client.orders_upload([{**ORDER, "externalId": "a"}, {**ORDER, "externalId": 7}], SITE_CODE)
    assert (uploaded.get_status_code(), uploaded.get_response()) == (
        200, {"success": True, "uploadedOrders": [{"id": 1, "externalId": "a"}, {"id": 2, "externalId": "7"}]})
    assert stock(app) == 6
    assert [r["created"] for r in body(client.orders_history({"sinceId": 0}))["history"]] == [True, True]


def test_orders_upload_with_failures_answers_460_and_keeps_the_good_ones(client: Any, app: CrmApp) -> None:
    client.order_create({**ORDER, "externalId": "a"}, SITE_CODE)
    upload = client.orders_upload([
        {**ORDER, "externalId": "b"},
        {"externalId": "c", "items": [{"offer": {"externalId": "nope"}}]},
        {**ORDER, "externalId": "a"},
        {**ORDER, "externalId": "b"},
    ], SITE_CODE)
    assert (upload.get_status_code(), upload.is_successful()) == (460, False)
    assert upload.get_response() == {
        "success": False, "errorMsg": "Orders are loaded with errors",
        "errors": ["items[0].offer: Offer not found.", "Order already exists.", "Order already exists."],
        "uploadedOrders": [{"id": 2, "externalId": "b"}],
        "failedOrders": [{"externalId": "c"}, {"externalId": "a"}, {"externalId": "b"}],
    }
    assert stock(app) == 6 and body(client.orders())["pagination"]["totalCount"] == 2


@pytest.mark.parametrize("orders, errors", [
    ([], {"orders": "This collection should contain 1 to 50 elements."}),
    ([ORDER] * 51, {"orders": "This collection should contain 1 to 50 elements."}),
    ({"externalId": "x"}, {"orders": "This value should be of type array."}),
])
def test_orders_upload_batch_limits(client: Any, app: CrmApp, orders: Any, errors: dict[str, str]) -> None:
    refused = client.orders_upload(orders, SITE_CODE)
    assert (refused.get_status_code(), refused.get_errors()) == (400, errors)
    assert body(client.orders())["orders"] == []


def test_orders_upload_needs_orders(url: str) -> None:
    assert error(requests.post(f"{url}{V5}/orders/upload", headers=HEADERS, data={"site": SITE_CODE})) == (
        400, {"success": False, "errorMsg": "Parameter 'orders' is missing"})


def test_orders_statuses_by_id_and_external_id(client: Any, manager: Any, url: str) -> None:
    for external_id in ("a", "b", "c"):
        client.order_create({**ORDER, "externalId": external_id}, SITE_CODE)
    manager.order_edit({"externalId": "b", "status": "no-call"}, site=SITE_CODE)
    manager.order_create({"items": [{"offer": {"id": 1}}]}, SITE_CODE)
    statuses = body(client.orders_statuses([1, 4, 99], ["b", "zzz"]))["orders"]
    assert statuses == [{"id": 1, "externalId": "a", "status": "new", "group": "new"},
                        {"id": 2, "externalId": "b", "status": "no-call", "group": "cancel"},
                        {"id": 4, "status": "new", "group": "new"}]
    assert body(client.orders_statuses([], []))["orders"] == []
    status, data = error(requests.get(f"{url}{V5}/orders/statuses?ids[]=x", headers=HEADERS))
    assert (status, data["errors"]) == (400, {"children[ids]": "Значение недопустимо."})


def test_fix_external_ids(manager: Any, client: Any) -> None:
    order = body(manager.order_create({"items": [{"offer": {"id": 1}}]}, SITE_CODE))["order"]
    assert "externalId" not in order
    assert body(client.orders_fix_external_ids([{"id": order["id"], "externalId": "501"}])) == {"success": True}
    assert body(client.order("501"))["order"]["id"] == order["id"]
    bad = client.orders_fix_external_ids([{"id": 999, "externalId": "x"}])
    assert bad.get_status_code() == 400 and bad.get_response()["errorMsg"] == "Errors in the entity format"


# -- history -------------------------------------------------------------------------------

def test_history_paged_by_since_id_like_the_module(client: Any, manager: Any) -> None:
    for n in range(30):
        client.order_create({**ORDER, "externalId": str(n)}, SITE_CODE)
    for n in range(0, 30, 3):
        manager.order_edit({"externalId": str(n), "status": "cancel-other"})
    since, seen, pages = 0, [], 0
    while True:  # the module: always page 1, sinceId advances, stop at the last page
        data = body(client.orders_history({"sinceId": since}, 20))
        pages += 1
        seen += data["history"]
        since = data["history"][-1]["id"]
        if data["pagination"]["currentPage"] >= data["pagination"]["totalPageCount"]:
            break
    assert pages == 3 and [r["id"] for r in seen] == list(range(1, 51))
    created, status, cascade = seen[0], seen[30], seen[31]
    assert created["created"] is True and created["apiKey"] == {"current": True}
    assert created["order"]["items"][0]["quantity"] == 2
    assert (status["source"], status["apiKey"], status["order"]) == (
        "api", {"current": False}, {"id": 1, "externalId": "0", "site": SITE_CODE, "status": "cancel-other"})
    assert (cascade["source"], cascade["field"], "apiKey" in cascade) == ("code", "order_product.status", False)
    assert cascade["item"]["offer"] == {"id": 1, "externalId": "42", "xmlId": "SKU-42"}
    assert body(client.orders_history({"sinceId": 50}, 100))["pagination"] == {
        "limit": 100, "totalCount": 0, "currentPage": 1, "totalPageCount": 0}


def test_history_filters(client: Any, app: CrmApp) -> None:
    app.clock.set(3600)
    client.order_create(ORDER, SITE_CODE)
    data = body(client.orders_history({"startDate": "2026-01-05 10:00:00", "orderExternalId": "1001"}))
    assert data["generatedAt"] == "2026-01-05 10:00:00" and len(data["history"]) == 1
    assert body(client.orders_history({"endDate": "2026-01-05 09:59:59"}))["history"] == []
    assert body(client.orders_history({"orderId": 2}))["history"] == []


@pytest.mark.parametrize("filters, limit, field", [
    ({}, 250, "limit"), ({"sinceId": "abc"}, 100, "children[sinceId]"),
    ({"startDate": "yesterday"}, 100, "children[startDate]"),
])
def test_history_bad_input(client: Any, filters: dict[str, Any], limit: int, field: str) -> None:
    response = client.orders_history(filters, limit)
    assert response.get_status_code() == 400 and field in response.get_response()["errors"]


# -- customers -------------------------------------------------------------------------------

def test_customers(client: Any) -> None:
    created = client.customer_create({"externalId": "c1", "firstName": "Bo", "email": "bo@example.com",
                                      "phones": [{"number": "+7911"}]}, SITE_CODE)
    assert created.get_status_code() == 201
    customer_id = created.get_response()["id"]
    assert body(client.customer("c1"))["customer"]["id"] == customer_id
    assert body(client.customer(str(customer_id), "id"))["customer"]["phones"] == [{"number": "+7911"}]
    assert client.customer("ghost").get_status_code() == 404
    assert [c["id"] for c in body(client.customers({"email": "bo@example.com"}))["customers"]] == [customer_id]
    order = body(client.order_create({**ORDER, "customer": {"externalId": "c1"}}, SITE_CODE))["order"]
    assert order["customer"]["id"] == customer_id
    record = body(client.customers_history({"sinceId": 0}, 100))["history"][0]
    assert (record["created"], record["field"], record["newValue"], record["apiKey"]) == (
        True, "id", customer_id, {"current": True})
    duplicate = client.customer_create({"externalId": "c1"}, SITE_CODE)
    assert duplicate.get_status_code() == 400


def test_customer_edit_by_external_id_and_by_id(client: Any, manager: Any) -> None:
    customer_id = body(client.customer_create({"externalId": "c1", "firstName": "Bo", "email": "bo@example.com"},
                                              SITE_CODE))["id"]
    edited = client.customer_edit({"externalId": "c1", "firstName": "Bob", "phones": [{"number": "+7922"}]},
                                  site=SITE_CODE)
    assert (edited.get_status_code(), edited.get_response()) == (200, {"success": True, "id": customer_id})
    by_id = manager.customer_edit({"id": customer_id, "email": "bob@example.com", "firstName": "Bob"}, "id")
    assert body(by_id) == {"success": True, "id": customer_id}
    customer = body(client.customer("c1"))["customer"]
    assert (customer["firstName"], customer["email"], customer["phones"]) == (
        "Bob", "bob@example.com", [{"number": "+7922"}])
    history = body(client.customers_history({"sinceId": 1}))["history"]
    assert [(r["field"], r["oldValue"], r["newValue"], r["apiKey"]["current"]) for r in history] == [
        ("first_name", "Bo", "Bob", True), ("phones", [], [{"number": "+7922"}], True),
        ("email", "bo@example.com", "bob@example.com", False)]  # the unchanged firstName left no record
    assert history[0]["customer"] == {"id": customer_id, "externalId": "c1", "site": SITE_CODE}


def test_customer_edit_errors(client: Any, url: str) -> None:
    client.customer_create({"externalId": "c1"}, SITE_CODE)
    client.customer_create({"externalId": "c2"}, SITE_CODE)
    missing = client.customer_edit({"externalId": "ghost", "firstName": "X"})
    assert (missing.get_status_code(), missing.get_error_msg()) == (404, "Not found")
    clash = requests.post(f"{url}{V5}/customers/c2/edit", headers=HEADERS,
                          data={"customer": json.dumps({"externalId": "c1"})})
    assert error(clash) == (400, {"success": False, "errorMsg": "Errors in the entity format",
                                  "errors": {"externalId": "Customer with this externalId already exists."}})
    bad_phones = client.customer_edit({"externalId": "c1", "phones": "+7900"})
    assert bad_phones.get_errors() == {"phones": "This value should be of type array."}
    assert error(requests.post(f"{url}{V5}/customers/c1/edit", headers=HEADERS)) == (
        400, {"success": False, "errorMsg": "Parameter 'customer' is missing"})
    assert error(requests.post(f"{url}{V5}/customers/c1/edit", headers=HEADERS,
                               data={"customer": "{}", "site": "other-shop"}))[0] == 403


# -- admin plane ---------------------------------------------------------------------------------

class IcmlServer:
    """Serves one mutable ICML document, like the shop's simla.xml."""

    def __init__(self) -> None:
        self.document = b""
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(outer.document)))
                self.end_headers()
                self.wfile.write(outer.document)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/simla.xml"
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def icml() -> Iterator[IcmlServer]:
    served = IcmlServer()
    yield served
    served.stop()


def free_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}/simla.xml"


def test_admin_settings(url: str, client: Any) -> None:
    settings = requests.get(f"{url}/__stocksim/settings").json()
    assert settings["auto_cancel_items"] is True and settings["sites"][SITE_CODE]["store"] == "main"
    updated = requests.put(f"{url}/__stocksim/settings", json={"sites": {SITE_CODE: {"catalog_kept_in_system": False}}})
    assert updated.json()["sites"][SITE_CODE]["catalog_kept_in_system"] is False
    assert body(client.sites())["sites"][SITE_CODE]["loadFromYml"] is True
    assert requests.put(f"{url}/__stocksim/settings", data="{nope").status_code == 400
    bad = requests.put(f"{url}/__stocksim/settings", json={"auto_cancel_items": "yes"})
    assert bad.status_code == 400 and "auto_cancel_items" in bad.json()["error"]


def test_admin_catalog_import(url: str, app: CrmApp, icml: IcmlServer) -> None:
    icml.document = ('<?xml version="1.0" encoding="UTF-8"?><yml_catalog date="2026-01-05 09:00:00"><shop>'
                     '<offers><offer id="42" productId="42" quantity="7"><name>Mug</name><xmlId>SKU-42</xmlId>'
                     '</offer><offer id="50" quantity="4"><name>Bowl</name></offer></offers></shop></yml_catalog>'
                     ).encode()
    site_settings = {"catalog_kept_in_system": False, "yml_url": icml.url}
    requests.put(f"{url}/__stocksim/settings", json={"sites": {SITE_CODE: site_settings}})
    result = requests.post(f"{url}/__stocksim/catalog-import", json={"site": SITE_CODE}).json()
    assert result == {"site": SITE_CODE, "offers": 2, "created": 1, "quantities_applied": True}
    assert (stock(app, "42"), stock(app, "50")) == (7, 4)
    assert requests.post(f"{url}/__stocksim/catalog-import").json() == {"imports": [
        {"site": SITE_CODE, "offers": 2, "created": 0, "quantities_applied": True}]}
    icml.document = b"<html>oops</html>"
    assert requests.post(f"{url}/__stocksim/catalog-import").status_code == 502
    requests.put(f"{url}/__stocksim/settings", json={"sites": {SITE_CODE: {"yml_url": free_port_url()}}})
    failed = requests.post(f"{url}/__stocksim/catalog-import")
    assert failed.status_code == 502 and "fetching" in failed.json()["error"]
    assert requests.post(f"{url}/__stocksim/catalog-import", json={"site": "other"}).status_code == 400


def test_defaults_are_what_reset_returns_to() -> None:
    crm = CrmState()
    wiring = {"sites": {SITE_CODE: {"yml_url": "http://127.0.0.1:9/simla.xml"}}}
    assert crm.set_defaults(wiring)["sites"][SITE_CODE]["yml_url"] == "http://127.0.0.1:9/simla.xml"
    crm.update_settings({"auto_cancel_items": False, "sites": {SITE_CODE: {"yml_url": None}}})
    crm.reset()
    settings = crm.settings()
    assert (settings["auto_cancel_items"], settings["sites"][SITE_CODE]["yml_url"]) == (
        True, "http://127.0.0.1:9/simla.xml")


def test_admin_state_and_reset(url: str, client: Any) -> None:
    client.order_create(ORDER, SITE_CODE)
    state = requests.get(f"{url}/__stocksim/state").json()
    assert state["offers"][0]["stores"] == {"main": 8}
    assert state["orders"][0]["stocksim"] == {"tracked": True, "held": {"1": 2}}
    requests.put(f"{url}/__stocksim/settings", json={"auto_cancel_items": False})
    assert requests.post(f"{url}/__stocksim/reset").json() == {"reset": True}
    state = requests.get(f"{url}/__stocksim/state").json()
    assert (state["offers"], state["orders"], state["settings"]["auto_cancel_items"]) == ([], [], True)


def test_concurrent_orders_over_http_conserve_stock(url: str, app: CrmApp) -> None:
    app.state.upload_inventories(CONNECTOR_KEY, [{"externalId": "42", "stores": [{"code": "main", "available": 100}]}],
                                 None)
    statuses: list[int] = []

    def worker(n: int) -> None:
        crm = retailcrm.v5(url, CONNECTOR_KEY)  # the client keeps per-call state: one per thread
        for i in range(5):
            response = crm.order_create({**ORDER, "externalId": f"{n}-{i}"}, SITE_CODE)
            statuses.append(response.get_status_code())

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201] * 40
    assert stock(app) == 100 - 2 * 40
