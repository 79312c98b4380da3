"""The fake shop's REST v3 as the official ``woocommerce`` client sees it (woocommerce.md §1-§3)."""

from __future__ import annotations

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
    shop.state.settings["home_url"] = None
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
    assert_wc_error(wc.delete("products/10"), 404, "rest_no_route")
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
