"""The fake shop's REST v3 as the official ``woocommerce`` client sees it (woocommerce.md §1-§3)."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Iterator

import pytest
import requests
from woocommerce import API

from fakes.base import FakeServer
from fakes.shop import CONSUMER_KEY, CONSUMER_SECRET, ShopApp

REST = "/wp-json/wc/v3"
KEYS = {"consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET}


@pytest.fixture(scope="module")
def server() -> Iterator[FakeServer]:
    with FakeServer(ShopApp()) as srv:
        yield srv


@pytest.fixture
def app(server: FakeServer) -> ShopApp:
    shop: ShopApp = server.app  # type: ignore[assignment]
    shop.reset()
    shop.journal.clear()
    shop.state.settings["home_url"] = None
    shop.connector.update_settings({"api_url": ""})  # no CRM: the plugin model stays idle
    return shop


@pytest.fixture
def wc(server: FakeServer, app: ShopApp) -> API:
    return API(url=server.url, consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET, timeout=10)


def create_product(wc: API, qty: int | None = 10, **fields: Any) -> dict[str, Any]:
    body = {"name": "Mug", "regular_price": "100", "manage_stock": qty is not None, **fields}
    if qty is not None:
        body["stock_quantity"] = qty
    response = wc.post("products", body)
    assert response.status_code == 201, response.text
    return response.json()


def stock(wc: API, product_id: int) -> int | None:
    return wc.get(f"products/{product_id}").json()["stock_quantity"]


def assert_wc_error(response: requests.Response, status: int, code: str) -> dict[str, Any]:
    body = response.json()
    assert (response.status_code, body["code"], body["data"]["status"]) == (status, code, status), body
    assert isinstance(body["message"], str)
    return body


# ----------------------------------------------------------------------- products
def test_create_read_and_update_a_product(wc: API) -> None:
    created = create_product(wc, 10, sku="MUG-1")
    assert (created["id"], created["type"], created["price"], created["stock_status"]) == (
        10, "simple", "100", "instock")
    got = wc.get(f"products/{created['id']}").json()
    assert got["stock_quantity"] == 10 and got["manage_stock"] is True and got["date_created"].startswith("2026-01-05T")
    updated = wc.put(f"products/{created['id']}", {"stock_quantity": 0, "stock_status": "instock"})
    assert updated.status_code == 200
    assert (updated.json()["stock_quantity"], updated.json()["stock_status"]) == (0, "outofstock")


def test_list_paginates_with_wp_headers(wc: API) -> None:
    for n in range(3):
        create_product(wc, n, sku=f"S-{n}")
    first = wc.get("products", params={"per_page": 2, "page": 1, "orderby": "id", "order": "asc"})
    assert first.headers["X-WP-Total"] == "3" and first.headers["X-WP-TotalPages"] == "2"
    assert [p["sku"] for p in first.json()] == ["S-0", "S-1"] and 'rel="next"' in first.headers["Link"]
    past = wc.get("products", params={"per_page": 2, "page": 5})
    assert (past.status_code, past.json(), past.headers["X-WP-Total"]) == (200, [], "3")


def test_empty_list_has_zero_pages(wc: API) -> None:
    response = wc.get("orders")
    assert (response.json(), response.headers["X-WP-Total"], response.headers["X-WP-TotalPages"]) == ([], "0", "0")


def test_sku_filter_is_exact_takes_a_comma_list_and_finds_variations(wc: API) -> None:
    create_product(wc, 1, sku="A-1")
    create_product(wc, 1, sku="A-10")
    parent = wc.post("products", {"name": "Shirt", "type": "variable"}).json()
    wc.post(f"products/{parent['id']}/variations", {"sku": "SH-RED", "regular_price": "5"})
    assert [p["sku"] for p in wc.get("products", params={"sku": "A-1"}).json()] == ["A-1"]
    found = wc.get("products", params={"sku": "A-10,SH-RED", "orderby": "id", "order": "asc"}).json()
    assert [(p["sku"], p["type"], p["parent_id"]) for p in found] == [("A-10", "simple", 0),
                                                                      ("SH-RED", "variation", parent["id"])]


def test_variations_and_stock_managed_by_the_parent(wc: API) -> None:
    parent = wc.post("products", {"name": "Shirt", "type": "variable", "manage_stock": True,
                                  "stock_quantity": 10}).json()
    red = wc.post(f"products/{parent['id']}/variations", {"sku": "SH-RED", "regular_price": "5"}).json()
    assert (red["manage_stock"], red["stock_quantity"]) == ("parent", 10)
    own = wc.put(f"products/{parent['id']}/variations/{red['id']}", {"manage_stock": True, "stock_quantity": 4})
    assert (own.json()["manage_stock"], own.json()["stock_quantity"]) == (True, 4)
    listing = wc.get(f"products/{parent['id']}/variations")
    assert [v["id"] for v in listing.json()] == [red["id"]] and listing.headers["X-WP-Total"] == "1"
    assert wc.get(f"products/{red['id']}").json()["type"] == "variation"


def test_variation_errors(wc: API) -> None:
    parent = wc.post("products", {"name": "Shirt", "type": "variable"}).json()
    red = wc.post(f"products/{parent['id']}/variations", {"regular_price": "5"}).json()
    assert_wc_error(wc.put(f"products/{red['id']}", {"stock_quantity": 1}), 404, "woocommerce_rest_invalid_product_id")
    other = create_product(wc)
    assert_wc_error(wc.get(f"products/{other['id']}/variations/{red['id']}"), 404,
                    "woocommerce_rest_product_variation_invalid_id")
    assert_wc_error(wc.put(f"products/{parent['id']}/variations/999", {}), 400,
                    "woocommerce_rest_product_variation_invalid_id")


# ----------------------------------------------------------------------- orders (§3.3)
@pytest.mark.parametrize("body, status, expected_stock", [
    ({}, "pending", 10),
    ({"status": "pending"}, "pending", 10),
    ({"status": "processing"}, "processing", 8),
    ({"status": "on-hold"}, "on-hold", 8),
    ({"status": "completed"}, "completed", 8),
    ({"status": "cancelled"}, "cancelled", 10),
    ({"status": "failed"}, "failed", 10),
    ({"status": "refunded"}, "refunded", 10),
    ({"set_paid": True}, "processing", 8),
    ({"status": "on-hold", "set_paid": True}, "processing", 8),
    ({"status": "completed", "set_paid": True}, "completed", 8),
])
def test_rest_order_creation_rows(wc: API, body: dict[str, Any], status: str, expected_stock: int) -> None:
    product = create_product(wc, 10)
    response = wc.post("orders", {**body, "line_items": [{"product_id": product["id"], "quantity": 2}]})
    assert response.status_code == 201 and response.headers["Location"].endswith(f"/orders/{response.json()['id']}")
    order = response.json()
    assert (order["status"], order["created_via"], stock(wc, product["id"])) == (status, "rest-api", expected_stock)
    reduced = [m["value"] for m in order["line_items"][0]["meta_data"] if m["key"] == "_reduced_stock"]
    assert reduced == (["2"] if expected_stock == 8 else [])
    assert order["total"] == "200.00" and order["line_items"][0]["price"] == 100


#: woocommerce.md §3.2 worked transitions: statuses PUT after a pending order for 2 of 10, stock after each.
WORKED = [
    (["processing"], [8]),
    (["processing", "completed"], [8, 8]),
    (["processing", "cancelled"], [8, 10]),
    (["processing", "cancelled", "processing"], [8, 10, 8]),
    (["on-hold", "processing"], [8, 8]),
    (["processing", "pending"], [8, 10]),
    (["cancelled"], [10]),
    (["processing", "refunded"], [8, 8]),
    (["processing", "refunded", "cancelled"], [8, 8, 10]),
    (["failed", "processing"], [10, 8]),
]


@pytest.mark.parametrize("path, expected", WORKED, ids=["->".join(p) for p, _ in WORKED])
def test_put_status_walks_the_worked_transitions(wc: API, path: list[str], expected: list[int]) -> None:
    product = create_product(wc, 10)
    order = wc.post("orders", {"line_items": [{"product_id": product["id"], "quantity": 2}]}).json()
    seen = []
    for status in path:
        response = wc.put(f"orders/{order['id']}", {"status": status})
        assert response.status_code == 200 and response.json()["status"] == status
        seen.append(stock(wc, product["id"]))
    assert seen == expected


def test_put_line_items_with_id_updates_and_without_id_adds(wc: API) -> None:
    a, b = create_product(wc, 10, sku="A"), create_product(wc, 10, sku="B")
    order = wc.post("orders", {"status": "processing", "line_items": [{"product_id": a["id"], "quantity": 2}]}).json()
    line_id = order["line_items"][0]["id"]
    updated = wc.put(f"orders/{order['id']}", {"line_items": [{"id": line_id, "quantity": 3},
                                                              {"product_id": b["id"], "quantity": 1}]}).json()
    assert [(li["product_id"], li["quantity"]) for li in updated["line_items"]] == [(a["id"], 3), (b["id"], 1)]
    assert (stock(wc, a["id"]), stock(wc, b["id"])) == (7, 10)  # the new line is never reduced
    assert_wc_error(wc.put(f"orders/{order['id']}", {"line_items": [{"id": 999, "quantity": 1}]}), 400,
                    "woocommerce_rest_invalid_item_id")


def test_order_list_filters_by_status(wc: API) -> None:
    product = create_product(wc, 10)
    for status in ("pending", "processing", "processing"):
        wc.post("orders", {"status": status, "line_items": [{"product_id": product["id"]}]})
    response = wc.get("orders", params={"status": "processing", "per_page": 1})
    assert response.headers["X-WP-Total"] == "2" and response.headers["X-WP-TotalPages"] == "2"
    assert_wc_error(wc.get("orders", params={"status": "shipped"}), 400, "rest_invalid_param")


# ----------------------------------------------------------------------- errors (§2.7, §2.8)
def test_unknown_ids(wc: API) -> None:
    assert_wc_error(wc.get("products/999"), 404, "woocommerce_rest_product_invalid_id")
    assert_wc_error(wc.put("products/999", {"stock_quantity": 1}), 400, "woocommerce_rest_product_invalid_id")
    assert_wc_error(wc.get("orders/999"), 404, "woocommerce_rest_shop_order_invalid_id")
    assert_wc_error(wc.put("orders/999", {"status": "cancelled"}), 400, "woocommerce_rest_shop_order_invalid_id")


@pytest.mark.parametrize("params", [{"per_page": -1}, {"per_page": 101}, {"per_page": "x"}, {"page": 0}])
def test_bad_pagination(wc: API, params: dict[str, Any]) -> None:
    body = assert_wc_error(wc.get("products", params=params), 400, "rest_invalid_param")
    assert list(body["data"]["params"]) == list(params)


def test_bad_field_types_and_enums(wc: API) -> None:
    product = create_product(wc)
    assert_wc_error(wc.put(f"products/{product['id']}", {"stock_quantity": "lots"}), 400, "rest_invalid_param")
    assert_wc_error(wc.put(f"products/{product['id']}", {"regular_price": 100}), 400, "rest_invalid_param")
    body = assert_wc_error(wc.post("orders", {"status": "shipped"}), 400, "rest_invalid_param")
    assert body["message"] == "Invalid parameter(s): status" and "is not one of" in body["data"]["params"]["status"]
    body = assert_wc_error(wc.post("orders", {"line_items": [{"product_id": product["id"], "quantity": "two"}]}),
                           400, "rest_invalid_param")
    assert body["data"]["params"]["line_items"] == "line_items[0][quantity] is not of type integer."


def test_malformed_json_body(server: FakeServer, app: ShopApp) -> None:
    response = requests.put(f"{server.url}{REST}/products/10", params=KEYS, data=b"{not json",
                            headers={"Content-Type": "application/json"}, timeout=10)
    assert_wc_error(response, 400, "rest_invalid_json")
    assert response.json()["message"] == "Invalid JSON body passed."


def test_wrong_credentials(server: FakeServer, wc: API) -> None:
    bad_secret = API(url=server.url, consumer_key=CONSUMER_KEY, consumer_secret="cs_wrong", timeout=10)
    body = assert_wc_error(bad_secret.get("products"), 401, "woocommerce_rest_authentication_error")
    assert body["message"] == "Invalid signature - provided signature does not match."
    bad_key = API(url=server.url, consumer_key="ck_unknown", consumer_secret=CONSUMER_SECRET, timeout=10)
    assert assert_wc_error(bad_key.get("products"), 401,
                           "woocommerce_rest_authentication_error")["message"] == "Consumer key is invalid."
    anonymous = requests.get(f"{server.url}{REST}/products", timeout=10)
    assert_wc_error(anonymous, 401, "woocommerce_rest_cannot_view")
    assert_wc_error(requests.post(f"{server.url}{REST}/orders", json={}, timeout=10), 401,
                    "woocommerce_rest_cannot_create")
    wrong_secret = requests.get(f"{server.url}{REST}/products", params={**KEYS, "consumer_secret": "x"}, timeout=10)
    assert_wc_error(wrong_secret, 401, "woocommerce_rest_authentication_error")
    partial = requests.get(f"{server.url}{REST}/products", params={"oauth_consumer_key": CONSUMER_KEY}, timeout=10)
    assert_wc_error(partial, 401, "woocommerce_rest_authentication_missing_parameter")


def test_query_key_and_basic_auth_are_accepted(server: FakeServer, wc: API) -> None:
    assert requests.get(f"{server.url}{REST}/products", params=KEYS, timeout=10).status_code == 200
    basic = requests.get(f"{server.url}{REST}/products", auth=(CONSUMER_KEY, CONSUMER_SECRET), timeout=10)
    assert basic.status_code == 200


def test_signature_is_checked_against_the_home_url(server: FakeServer, app: ShopApp, wc: API) -> None:
    app.state.update_settings({"home_url": "http://shop.example"})
    assert assert_wc_error(wc.get("products"), 401, "woocommerce_rest_authentication_error")
    signed_for_home = API(url="http://shop.example", consumer_key=CONSUMER_KEY, consumer_secret=CONSUMER_SECRET)
    url = signed_for_home._API__get_oauth_url(f"http://shop.example{REST}/products?", "GET")  # the client's signer
    response = requests.get(url.replace("http://shop.example", server.url), timeout=10)
    assert response.status_code == 200, response.text


def test_reused_nonce_is_rejected(server: FakeServer, wc: API) -> None:
    signed = wc._API__get_oauth_url(f"{server.url}{REST}/products?", "GET")
    assert requests.get(signed, timeout=10).status_code == 200
    assert_wc_error(requests.get(signed, timeout=10), 401, "woocommerce_rest_authentication_error")


def test_unknown_route_and_method(server: FakeServer, wc: API) -> None:
    assert_wc_error(wc.get("coupons"), 404, "rest_no_route")
    assert_wc_error(wc.delete("system_status"), 404, "rest_no_route")
    assert_wc_error(wc.get("products/abc"), 404, "rest_no_route")


def test_internal_error_is_wordpress_shaped(wc: API, app: ShopApp, monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("fault")
    monkeypatch.setattr(app.state, "list_products", boom)
    body = assert_wc_error(wc.get("products"), 500, "internal_server_error")
    assert "critical error" in body["message"]


def test_index_and_system_status(server: FakeServer, wc: API) -> None:
    index = requests.get(f"{server.url}{REST}", timeout=10).json()
    assert index["namespace"] == "wc/v3" and "/wc/v3/products" in index["routes"]
    status = wc.get("system_status").json()
    assert status["active_plugins"][0]["plugin"] == "woo-retailcrm/woo-retailcrm.php"


# ----------------------------------------------------------------------- control routes
def test_checkout_route(server: FakeServer, wc: API) -> None:
    product = create_product(wc, 10)
    response = requests.post(f"{server.url}/__stocksim/checkout", timeout=10, json={
        "line_items": [{"product_id": product["id"], "quantity": 2}],
        "billing": {"first_name": "Ann", "last_name": "Lee", "email": "ann@example.com", "phone": "+7900"},
        "payment_method": "cod"})
    assert response.status_code == 201
    order = response.json()
    assert (order["status"], order["created_via"], order["payment_method_title"]) == (
        "processing", "checkout", "Cash on delivery")
    assert order["billing"]["email"] == "ann@example.com" and stock(wc, product["id"]) == 8


@pytest.mark.parametrize("body, code", [
    ({"line_items": []}, "rest_invalid_param"),
    ({"line_items": [{"product_id": "x"}]}, "rest_invalid_param"),
    ({"line_items": [{"product_id": 999, "quantity": 1}]}, "woocommerce_rest_cart_invalid_product"),
    ({"line_items": [{"product_id": 10, "quantity": 0}]}, "rest_invalid_param"),
])
def test_checkout_bad_input(server: FakeServer, wc: API, body: dict[str, Any], code: str) -> None:
    create_product(wc, 10)
    assert_wc_error(requests.post(f"{server.url}/__stocksim/checkout", json=body, timeout=10), 400, code)
    bad = requests.post(f"{server.url}/__stocksim/checkout", data=b"[", timeout=10,
                        headers={"Content-Type": "application/json"})
    assert_wc_error(bad, 400, "rest_invalid_json")


def test_settings_routes_and_reset(server: FakeServer, app: ShopApp) -> None:
    url = f"{server.url}/__stocksim"
    changed = requests.put(f"{url}/settings", json={"woocommerce_manage_stock": "no"}, timeout=10).json()
    assert changed["woocommerce_manage_stock"] == "no"
    assert requests.put(f"{url}/settings", json={"woocommerce_manage_stock": 1}, timeout=10).status_code == 400
    app.connector.settings["api_url"] = "http://crm.test"
    merged = requests.put(f"{url}/connector/settings", json={"sync": "no"}, timeout=10).json()
    assert (merged["sync"], merged["pending"]) == ("no", "new")
    requests.post(f"{url}/reset", timeout=10)
    state = requests.get(f"{url}/state", timeout=10).json()
    assert state["settings"]["woocommerce_manage_stock"] == "yes"
    assert state["connector"]["settings"]["sync"] == "yes"
    assert state["connector"]["settings"]["api_url"] == "http://crm.test"
    assert state["connector"]["cursors"] == {"orders_since_id": None, "customers_since_id": None}


def test_unknown_job_and_missing_catalog(server: FakeServer, app: ShopApp) -> None:
    response = requests.post(f"{server.url}/__stocksim/connector/jobs/backup", timeout=10)
    assert response.status_code == 404 and "error" in response.json()
    missing = requests.get(f"{server.url}/simla.xml", timeout=10)
    assert missing.status_code == 404 and "text/html" in missing.headers["Content-Type"]


# ----------------------------------------------------------------------- batch (§2.6)
def test_products_batch_runs_each_item_independently_and_in_order(wc: API) -> None:
    kept, doomed = create_product(wc, 5, sku="KEEP"), create_product(wc, 5, sku="GONE")
    response = wc.post("products/batch", {
        "create": [{"name": "New", "sku": "NEW", "manage_stock": True, "stock_quantity": 3},
                   {"name": "Clash", "sku": "KEEP"},          # a duplicated SKU fails alone
                   {"name": "Junk", "stock_quantity": "abc"}],
        "update": [{"id": kept["id"], "stock_quantity": 0}, {"id": 999, "stock_quantity": 1}],
        "delete": [doomed["id"], 999],
    })
    assert response.status_code == 200
    body = response.json()
    assert body["create"][0]["sku"] == "NEW" and body["create"][0]["stock_quantity"] == 3
    assert [slot["error"]["code"] for slot in body["create"][1:]] == ["product_invalid_sku", "rest_invalid_param"]
    assert body["create"][1]["id"] == 0 and body["create"][1]["error"]["data"]["status"] == 400
    assert (body["update"][0]["stock_status"], body["update"][1]) == ("outofstock", {
        "id": 999, "error": {"code": "woocommerce_rest_product_invalid_id", "message": "Invalid ID.",
                             "data": {"status": 400}}})
    assert body["delete"][0]["sku"] == "GONE" and body["delete"][1]["error"]["data"]["status"] == 404
    assert_wc_error(wc.get(f"products/{doomed['id']}"), 404, "woocommerce_rest_product_invalid_id")  # forced
    skus = sorted(p["sku"] for p in wc.get("products", params={"status": "any"}).json())
    assert skus == ["KEEP", "NEW"]


def test_batch_answers_only_the_sections_sent_and_takes_put_and_patch(server: FakeServer, wc: API) -> None:
    product = create_product(wc, 5)
    assert list(wc.put("products/batch", {"update": [{"id": product["id"], "name": "Cup"}]}).json()) == ["update"]
    patched = requests.patch(f"{server.url}{REST}/products/batch", params=KEYS, json={"delete": [product["id"]]},
                             timeout=10)
    assert list(patched.json()) == ["delete"]
    assert wc.post("products/batch", {}).json() == []  # PHP's empty array


def test_batch_over_a_hundred_items_is_refused_whole(wc: API, app: ShopApp) -> None:
    body = assert_wc_error(wc.post("products/batch", {"create": [{"name": "x"}] * 60, "delete": [1] * 41}), 413,
                           "woocommerce_rest_request_entity_too_large")
    assert body["message"] == "Unable to accept more than 100 items for this request." and not app.state.products
    assert wc.post("products/batch", {"create": [{"name": "x"}] * 100}).status_code == 200


def test_batch_needs_credentials_and_list_sections(server: FakeServer, wc: API) -> None:
    anonymous = requests.post(f"{server.url}{REST}/orders/batch", json={"create": [{}]}, timeout=10)
    assert_wc_error(anonymous, 401, "woocommerce_rest_cannot_batch")
    assert_wc_error(wc.post("orders/batch", {"create": {"status": "processing"}}), 400, "rest_invalid_param")
    slot = wc.post("orders/batch", {"update": ["x"]}).json()["update"][0]
    assert (slot["id"], slot["error"]["code"]) == (0, "rest_invalid_param")


def test_orders_batch_applies_the_stock_rules_of_the_single_routes(wc: API) -> None:
    product = create_product(wc, 10)
    line = {"product_id": product["id"], "quantity": 2}
    created = wc.post("orders/batch", {"create": [{"status": "processing", "line_items": [line]},
                                                  {"status": "shipped", "line_items": [line]},
                                                  {"set_paid": True, "line_items": [line]}]}).json()["create"]
    assert [slot.get("status") for slot in created] == ["processing", None, "processing"]
    assert created[1]["error"]["code"] == "rest_invalid_param" and stock(wc, product["id"]) == 6
    first, third = created[0]["id"], created[2]["id"]
    updates = [{"id": first, "status": "cancelled"}, {"id": 999, "status": "pending"}]
    changed = wc.put("orders/batch", {"update": updates, "delete": [third]}).json()
    assert changed["update"][0]["status"] == "cancelled" and changed["update"][1]["error"]["data"]["status"] == 400
    assert changed["delete"][0]["id"] == third and stock(wc, product["id"]) == 8  # a delete restores nothing
    assert [o["id"] for o in wc.get("orders").json()] == [first]


def test_variations_batch(wc: API) -> None:
    parent = wc.post("products", {"name": "Shirt", "type": "variable"}).json()
    created = wc.post(f"products/{parent['id']}/variations/batch", {"create": [
        {"sku": "R", "regular_price": "5", "manage_stock": True, "stock_quantity": 0},
        {"sku": "B", "regular_price": "5", "manage_stock": True, "stock_quantity": 2}]}).json()["create"]
    red, blue = (v["id"] for v in created)
    assert wc.get(f"products/{parent['id']}").json()["stock_status"] == "instock"
    other = create_product(wc, 1)
    answer = wc.post(f"products/{parent['id']}/variations/batch", {
        "update": [{"id": blue, "stock_quantity": 0}, {"id": other["id"], "stock_quantity": 5}],
        "delete": [red]}).json()
    assert answer["update"][0]["stock_status"] == "outofstock"
    assert answer["update"][1]["error"]["code"] == "woocommerce_rest_product_variation_invalid_id"
    assert answer["delete"][0]["id"] == red
    assert wc.get(f"products/{parent['id']}").json()["variations"] == [blue]
    assert wc.get(f"products/{parent['id']}").json()["stock_status"] == "outofstock"


# ----------------------------------------------------------------------- single deletes
def test_delete_trashes_unless_forced(wc: API) -> None:
    product = create_product(wc, 3)
    trashed = wc.delete(f"products/{product['id']}")
    assert trashed.status_code == 200 and trashed.json()["status"] == "publish"  # the product as it was
    assert wc.get(f"products/{product['id']}").json()["status"] == "trash"
    assert_wc_error(wc.delete(f"products/{product['id']}"), 410, "woocommerce_rest_already_trashed")
    assert wc.delete(f"products/{product['id']}", params={"force": "true"}).status_code == 200
    assert_wc_error(wc.get(f"products/{product['id']}"), 404, "woocommerce_rest_product_invalid_id")
    assert_wc_error(wc.delete("orders/999", params={"force": True}), 404, "woocommerce_rest_shop_order_invalid_id")


def test_delete_of_a_variation_needs_its_own_route(wc: API) -> None:
    parent = wc.post("products", {"name": "Shirt", "type": "variable"}).json()
    red = wc.post(f"products/{parent['id']}/variations", {"regular_price": "5"}).json()
    assert_wc_error(wc.delete(f"products/{red['id']}"), 404, "woocommerce_rest_invalid_product_id")
    assert wc.delete(f"products/{parent['id']}/variations/{red['id']}", params={"force": True}).status_code == 200
    assert wc.get(f"products/{parent['id']}").json()["variations"] == []


# ----------------------------------------------------------------------- variations through REST (§3.5)
def variable(wc: API, **parent_fields: Any) -> dict[str, Any]:
    response = wc.post("products", {"name": "Shirt", "type": "variable", **parent_fields})
    assert response.status_code == 201, response.text
    return response.json()


def variation(wc: API, parent: dict[str, Any], **fields: Any) -> dict[str, Any]:
    response = wc.post(f"products/{parent['id']}/variations", {"regular_price": "5", **fields})
    assert response.status_code == 201, response.text
    return response.json()


def parent_status(wc: API, parent: dict[str, Any]) -> str:
    return str(wc.get(f"products/{parent['id']}").json()["stock_status"])


#: Children's own stock (quantity, backorders) → the status of a parent that does not manage stock.
CHILDREN_RULE = [
    ([(0, "no"), (3, "no")], "instock"),           # any child in stock
    ([(0, "no"), (0, "notify")], "onbackorder"),   # else any child on backorder
    ([(0, "no"), (-2, "no")], "outofstock"),       # else out of stock
    ([], "outofstock"),                            # no children at all
]


@pytest.mark.parametrize("children, expected", CHILDREN_RULE, ids=[e for _, e in CHILDREN_RULE[:3]] + ["none"])
def test_parent_without_stock_takes_its_status_from_its_children(wc: API, children: list[tuple[int, str]],
                                                                 expected: str) -> None:
    parent = variable(wc)
    for quantity, backorders in children:
        variation(wc, parent, manage_stock=True, stock_quantity=quantity, backorders=backorders)
    assert parent_status(wc, parent) == expected


def test_parent_status_follows_a_child_sold_out_through_an_order(wc: API) -> None:
    parent = variable(wc)
    red = variation(wc, parent, manage_stock=True, stock_quantity=1)
    wc.post("orders", {"status": "processing", "line_items": [{"variation_id": red["id"], "quantity": 1}]})
    assert parent_status(wc, parent) == "outofstock"


def test_parent_status_ignores_a_sent_stock_status(wc: API) -> None:
    parent = variable(wc)
    variation(wc, parent, manage_stock=True, stock_quantity=4)
    updated = wc.put(f"products/{parent['id']}", {"stock_status": "outofstock"}).json()
    assert updated["stock_status"] == "instock"


def test_parent_managing_stock_follows_its_own_quantity(wc: API) -> None:
    parent = variable(wc, manage_stock=True, stock_quantity=0)
    variation(wc, parent, manage_stock=True, stock_quantity=5)
    assert parent_status(wc, parent) == "outofstock"
    wc.put(f"products/{parent['id']}", {"stock_quantity": 2})
    assert parent_status(wc, parent) == "instock"


def test_variation_managed_by_the_parent_shows_the_parents_stock(wc: API) -> None:
    parent = variable(wc, manage_stock=True, stock_quantity=0, backorders="notify")
    red = variation(wc, parent, backorders="no")
    shown = wc.get(f"products/{parent['id']}/variations/{red['id']}").json()
    assert (shown["manage_stock"], shown["stock_quantity"], shown["stock_status"], shown["backorders"]) == (
        "parent", 0, "onbackorder", "notify")
    wc.put(f"products/{parent['id']}", {"stock_quantity": 7})
    shown = wc.get(f"products/{parent['id']}/variations/{red['id']}").json()
    assert (shown["stock_quantity"], shown["stock_status"]) == (7, "instock")


def test_order_of_a_parent_managed_variation_reduces_the_parent(wc: API) -> None:
    parent = variable(wc, manage_stock=True, stock_quantity=10)
    red = variation(wc, parent, sku="SH-R")
    order = wc.post("orders", {"status": "processing", "line_items": [{"sku": "SH-R", "quantity": 3}]}).json()
    line = order["line_items"][0]
    assert (line["product_id"], line["variation_id"], line["parent_name"]) == (parent["id"], red["id"], "Shirt")
    assert wc.get(f"products/{parent['id']}").json()["stock_quantity"] == 7
    assert wc.get(f"products/{parent['id']}/variations/{red['id']}").json()["stock_quantity"] == 7
    wc.put(f"orders/{order['id']}", {"status": "cancelled"})
    assert wc.get(f"products/{parent['id']}").json()["stock_quantity"] == 10


def test_variation_managing_its_own_stock_follows_the_general_rule(wc: API) -> None:
    parent = variable(wc, manage_stock=True, stock_quantity=10)
    red = variation(wc, parent, manage_stock=True, stock_quantity=0, backorders="yes")
    assert (red["manage_stock"], red["stock_quantity"], red["stock_status"]) == (True, 0, "onbackorder")
    updated = wc.put(f"products/{parent['id']}/variations/{red['id']}", {"backorders": "no"}).json()
    assert updated["stock_status"] == "outofstock" and parent_status(wc, parent) == "instock"


# ----------------------------------------------------------------------- the journal shows who moved stock
def test_journal_entries_carry_the_stock_changes_of_their_request(server: FakeServer, wc: API) -> None:
    product = create_product(wc, 10)
    order = wc.post("orders", {"status": "processing", "line_items": [{"product_id": product["id"], "quantity": 2}]})
    wc.put(f"products/{product['id']}", {"stock_quantity": 9})
    checkout = requests.post(f"{server.url}/__stocksim/checkout", timeout=10,
                             json={"line_items": [{"product_id": product["id"]}]}).json()
    requests.put(f"{server.url}/__stocksim/settings", json={"blogname": "x"}, timeout=10)
    entries = requests.get(f"{server.url}/__stocksim/journal", timeout=10).json()["requests"]
    pid = product["id"]
    assert [(e["method"], e["path"].rsplit("/", 1)[-1], e["stock"]) for e in entries] == [
        ("POST", "products", [{"product_id": pid, "from": None, "to": 10, "cause": "rest set"}]),
        ("POST", "orders", [{"product_id": pid, "from": 10, "to": 8, "cause": f"order {order.json()['id']} reduce"}]),
        ("PUT", str(pid), [{"product_id": pid, "from": 8, "to": 9, "cause": "rest set"}]),
        ("POST", "checkout", [{"product_id": pid, "from": 9, "to": 8, "cause": f"order {checkout['id']} reduce"}]),
    ]  # the settings call is control-plane only: not journaled


# ----------------------------------------------------------------------- concurrency (§3.7)
def test_concurrent_orders_never_lose_a_reduction(server: FakeServer, wc: API, app: ShopApp) -> None:
    product = create_product(wc, 500)
    line = {"product_id": product["id"], "quantity": 2}

    def checkout() -> int:
        return requests.post(f"{server.url}/__stocksim/checkout", json={"line_items": [line]}, timeout=10).status_code

    def rest_order() -> int:
        return wc.post("orders", {"status": "processing", "line_items": [line]}).status_code

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = list(pool.map(lambda place: place(), [checkout, rest_order] * 60))
    assert statuses == [201] * 120
    assert stock(wc, product["id"]) == 500 - 120 * 2
    orders = app.state.orders.values()
    assert len(orders) == 120 and all(o.stock_reduced and o.line_items[0].reduced_stock == 2 for o in orders)
    assert sum(e["after"] - e["before"] for e in app.state.stock_events if e["op"] == "reduce") == -240


# ----------------------------------------------------------------------- bad input, every route (§2.7)
@dataclass(frozen=True)
class Bad:
    """One bad request and WooCommerce's answer to it. ``code`` is the answer's error code
    ("error": the control plane's {"error"} shape; None: no error); ``slots`` the error code and
    status expected in a batch answer's first slot of each section."""

    route: str
    what: str
    status: int
    code: str | None = None
    query: dict[str, Any] = field(default_factory=dict)
    body: bytes | None = None
    slots: dict[str, tuple[str, int]] = field(default_factory=dict)
    keys: dict[str, str] = field(default_factory=lambda: dict(KEYS))


#: Every REST route: (method and path, kind, the fields that make a wrong-type body).
REST_ROUTES = [
    ("GET products", "list", {}), ("POST products", "create", {"stock_quantity": "abc"}),
    ("GET products/{p}", "read", {}), ("PUT products/{p}", "update", {"stock_quantity": "abc"}),
    ("DELETE products/{p}", "delete", {}), ("POST products/batch", "batch", {"stock_quantity": "abc"}),
    ("GET products/{parent}/variations", "list", {}),
    ("POST products/{parent}/variations", "create", {"stock_quantity": "abc"}),
    ("GET products/{parent}/variations/{v}", "read", {}),
    ("PUT products/{parent}/variations/{v}", "update", {"stock_quantity": "abc"}),
    ("DELETE products/{parent}/variations/{v}", "delete", {}),
    ("POST products/{parent}/variations/batch", "batch", {"stock_quantity": "abc"}),
    ("GET orders", "list", {}), ("POST orders", "create", {"status": 5}),
    ("GET orders/{o}", "read", {}), ("PUT orders/{o}", "update", {"status": 5}),
    ("DELETE orders/{o}", "delete", {}), ("POST orders/batch", "batch", {"status": 5}),
    ("GET system_status", "read", {}), ("GET ", "index", {}),
]
SUCCESS = {"list": 200, "create": 201, "read": 200, "update": 200, "delete": 200, "batch": 200, "index": 200}
#: Each route naming an id, the same with an unknown id, and WooCommerce's answer to that.
UNKNOWN_IDS = {
    "GET products/{p}": ("GET products/999", "woocommerce_rest_product_invalid_id", 404),
    "PUT products/{p}": ("PUT products/999", "woocommerce_rest_product_invalid_id", 400),
    "DELETE products/{p}": ("DELETE products/999", "woocommerce_rest_product_invalid_id", 404),
    "GET products/{parent}/variations": ("GET products/999/variations", "woocommerce_rest_product_invalid_id", 404),
    "POST products/{parent}/variations": ("POST products/999/variations", "woocommerce_rest_product_invalid_id",
                                          404),
    "GET products/{parent}/variations/{v}": ("GET products/{parent}/variations/999",
                                             "woocommerce_rest_product_variation_invalid_id", 404),
    "PUT products/{parent}/variations/{v}": ("PUT products/{parent}/variations/999",
                                             "woocommerce_rest_product_variation_invalid_id", 400),
    "DELETE products/{parent}/variations/{v}": ("DELETE products/{parent}/variations/999",
                                                "woocommerce_rest_product_variation_invalid_id", 404),
    "GET orders/{o}": ("GET orders/999", "woocommerce_rest_shop_order_invalid_id", 404),
    "PUT orders/{o}": ("PUT orders/999", "woocommerce_rest_shop_order_invalid_id", 400),
    "DELETE orders/{o}": ("DELETE orders/999", "woocommerce_rest_shop_order_invalid_id", 404),
}
BATCH_ITEM_CODES = {"products": "woocommerce_rest_product_invalid_id",
                    "variations": "woocommerce_rest_product_variation_invalid_id",
                    "orders": "woocommerce_rest_shop_order_invalid_id"}


def as_json(value: Any) -> bytes:
    return json.dumps(value).encode()


def bad_inputs_of(route: str, kind: str, wrong_types: dict[str, Any]) -> Iterator[Bad]:
    ok = SUCCESS[kind]
    paged = 400 if kind == "list" else ok  # paging parameters mean nothing to other routes
    for name, value in (("per_page", 0), ("per_page", 101), ("page", 0)):
        yield Bad(route, f"{name}={value}", paged, "rest_invalid_param" if kind == "list" else None,
                  query={name: value})
    yield Bad(route, "malformed JSON", 400, "rest_invalid_json", body=b'{"stock_quantity": 1,')
    yield Bad(route, "JSON that is no object", ok, body=as_json([1, 2]))  # WordPress reads it as no params
    yield Bad(route, "wrong secret", 401, "woocommerce_rest_authentication_error",
              keys={**KEYS, "consumer_secret": "cs_wrong"})
    yield from wrong_types_of(route, kind, wrong_types)
    if route in UNKNOWN_IDS:
        unknown, code, status = UNKNOWN_IDS[route]
        yield Bad(unknown, "unknown id", status, code)
    if kind == "batch":
        item_code = BATCH_ITEM_CODES[route.split()[1].split("/")[-2]]
        yield Bad(route, "unknown ids", 200, body=as_json({"update": [{"id": 999}], "delete": [999]}),
                  slots={"update": (item_code, 400), "delete": (item_code, 404)})


def wrong_types_of(route: str, kind: str, wrong_types: dict[str, Any]) -> Iterator[Bad]:
    if kind in ("create", "update"):
        yield Bad(route, f"wrong types {wrong_types}", 400, "rest_invalid_param", body=as_json(wrong_types))
    elif kind == "batch":
        yield Bad(route, f"wrong types {wrong_types}", 200, body=as_json({"create": [wrong_types]}),
                  slots={"create": ("rest_invalid_param", 400)})
    elif kind == "list":
        yield Bad(route, "status=5", 400, "rest_invalid_param", query={"status": 5})
    elif kind == "delete":
        yield Bad(route, "force=abc", 400, "rest_invalid_param", query={"force": "abc"})


def order_status_inputs() -> Iterator[Bad]:
    """An unknown order status, wherever an order status is taken."""
    shipped = {"status": "shipped"}
    yield Bad("GET orders", "status=shipped", 400, "rest_invalid_param", query=shipped)
    yield Bad("POST orders", "status shipped", 400, "rest_invalid_param", body=as_json(shipped))
    yield Bad("PUT orders/{o}", "status shipped", 400, "rest_invalid_param", body=as_json(shipped))
    yield Bad("POST orders/batch", "status shipped", 200, body=as_json({"update": [{"id": "{o}", **shipped}]}),
              slots={"update": ("rest_invalid_param", 400)})


def control_inputs() -> Iterator[Bad]:
    """Control routes: the checkout answers as the storefront would, the rest with {"error"}."""
    checkout = "POST /__stocksim/checkout"
    yield Bad(checkout, "malformed JSON", 400, "rest_invalid_json", body=b"{")
    yield Bad(checkout, "JSON that is no object", 400, "rest_invalid_param", body=as_json([1]))
    yield Bad(checkout, "wrong types", 400, "rest_invalid_param", body=as_json({"line_items": [{"product_id": "x"}]}))
    yield Bad(checkout, "unknown product", 400, "woocommerce_rest_cart_invalid_product",
              body=as_json({"line_items": [{"product_id": 999}]}))
    for route, wrong in (("PUT /__stocksim/settings", {"woocommerce_hold_stock_minutes": "abc"}),
                         ("PUT /__stocksim/connector/settings", {"order_methods": "phone"})):
        yield Bad(route, "malformed JSON", 400, "error", body=b"{")
        yield Bad(route, "JSON that is no object", 400, "error", body=as_json([1]))
        yield Bad(route, "wrong types", 400, "error", body=as_json(wrong))
    yield Bad("POST /__stocksim/connector/jobs/backup", "unknown job", 404, "error")


AUDIT = [*(bad for route, kind, wrong in REST_ROUTES for bad in bad_inputs_of(route, kind, wrong)),
         *order_status_inputs(), *control_inputs()]


@pytest.mark.parametrize("bad", AUDIT, ids=[f"{b.route} | {b.what}" for b in AUDIT])
def test_bad_input_gets_woocommerces_error_never_a_500(server: FakeServer, app: ShopApp, bad: Bad) -> None:
    state = app.state
    parent = state.create_product(type="variable", name="Shirt")
    ids = {"p": state.create_product(name="Mug", regular_price="5", manage_stock=True, stock_quantity=5).id,
           "parent": parent.id,
           "v": state.create_product(type="variation", parent_id=parent.id, name="Red", regular_price="5").id,
           "o": state.create_order().id}
    method, _, path = bad.route.partition(" ")
    url = server.url + (path if path.startswith("/__") else f"{REST}/{path}".rstrip("/"))
    body = bad.body.replace(b'"{o}"', str(ids["o"]).encode()) if bad.body else None
    response = requests.request(method, url.format(**ids), params={**bad.query, **bad.keys}, data=body, timeout=10,
                                headers={"Content-Type": "application/json"} if body is not None else {})
    assert response.status_code == bad.status, response.text
    answer = response.json()
    if bad.code == "error":
        assert isinstance(answer["error"], str)
    elif bad.code is not None:
        assert_wc_error(response, bad.status, bad.code)
    for section, (code, status) in bad.slots.items():
        assert (answer[section][0]["error"]["code"], answer[section][0]["error"]["data"]["status"]) == (code, status)


def test_an_injected_fault_status_is_answered_in_the_rest_error_shape(server: FakeServer, wc: API) -> None:
    fault = {"path": f"{REST}/products", "status": 429, "times": 1}
    assert requests.post(f"{server.url}/__stocksim/faults", json=fault, timeout=10).status_code == 201
    assert_wc_error(wc.get("products"), 429, "stocksim_fault")
    assert wc.get("products").status_code == 200
