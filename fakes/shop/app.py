"""The fake shop's HTTP layer: WooCommerce REST v3, the catalog file and control routes.

Thin on purpose: parse and validate the request as WordPress's schema would,
call ``ShopState`` / ``Connector``, and shape the answer as WooCommerce does
(woocommerce.md §2). Every request is one ``ShopState.request()``, so the
plugin model's shutdown pushes run before the response leaves; a batch is one
request too. Each collection's single-item operations (``ItemOps``) serve both
its single routes and its batch route. Journal entries carry the stock their
request moved (``journal_extra``). docs/shop.md describes the whole surface.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import math
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl, quote, unquote, urlsplit

from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from fakes.base import ADMIN_PREFIX, FakeApp, OutgoingHttp, dump_json, encoded_json_response, json_response
from fakes.clock import Clock
from fakes.shop.connector import CATALOG_FILE, Connector
from fakes.shop.state import (
    BACKORDERS, DEFAULT_CATEGORY, ORDER_STATUSES, STOCK_STATUSES, LineInput, Order, Product, ShopError,
    ShopState, _intval, _one_of, invalid_param,
)

CONSUMER_KEY = "ck_stocksim_local_0000000000000000000000000000"
CONSUMER_SECRET = "cs_stocksim_local_0000000000000000000000000000"

REST = "/wp-json/wc/v3"
WC_VERSION = "9.9.5"
CRITICAL_ERROR = ("<p>There has been a critical error on this website.</p><p><a href=\"https://wordpress.org/"
                  "documentation/article/faq-troubleshooting/\">Learn more about troubleshooting WordPress.</a></p>")
WP_404_PAGE = ("<!DOCTYPE html>\n<html lang=\"en-US\"><head><meta charset=\"UTF-8\"><title>Page not found - {name}"
               "</title></head><body class=\"error404\"><main><h1 class=\"page-title\">Oops! That page can&rsquo;t "
               "be found.</h1></main></body></html>\n")
OAUTH_PARAMS = ("oauth_consumer_key", "oauth_timestamp", "oauth_nonce", "oauth_signature", "oauth_signature_method")
AUTH_PARAMS = frozenset(OAUTH_PARAMS) | {"consumer_key", "consumer_secret"}

PRODUCT_STATUSES = ("draft", "pending", "private", "publish", "future")
REST_PRODUCT_TYPES = ("simple", "grouped", "external", "variable")
#: The schema of the product fields a write may carry: name → type or enum.
PRODUCT_SCHEMA: dict[str, Any] = {
    "name": "string", "sku": "string", "regular_price": "string", "sale_price": "string",
    "status": PRODUCT_STATUSES, "type": REST_PRODUCT_TYPES, "manage_stock": "boolean",
    "stock_quantity": "integer", "backorders": BACKORDERS, "stock_status": STOCK_STATUSES,
    "low_stock_amount": "integer|null", "virtual": "boolean", "attributes": "array",
}
ORDER_SCHEMA: dict[str, Any] = {
    "status": ORDER_STATUSES, "set_paid": "boolean", "billing": "object", "shipping": "object",
    "payment_method": "string", "payment_method_title": "string", "transaction_id": "string",
    "customer_id": "integer", "customer_note": "string", "line_items": "array",
}
LINE_SCHEMA: dict[str, Any] = {
    "id": "integer", "product_id": "integer|null", "variation_id": "integer", "quantity": "integer",
    "sku": "string", "total": "string", "subtotal": "string", "name": "string",
}
#: Control routes that stand for requests WordPress itself serves; the journal keeps them.
WORDPRESS_CONTROL_ROUTES = (f"{ADMIN_PREFIX}/checkout", f"{ADMIN_PREFIX}/connector/jobs/")
BILLING_KEYS = ("first_name", "last_name", "company", "address_1", "address_2", "city", "state", "postcode",
                "country", "email", "phone")


def rest_route(handler: Callable[..., Response]) -> Callable[..., Response]:
    """A REST v3 handler gets the request's params (a bad JSON body fails before the route
    runs, as in WP_REST_Server::dispatch) and its ShopError answered in WooCommerce's format."""
    @functools.wraps(handler)
    def route(self: "ShopApp", request: Request, **args: Any) -> Response:
        try:
            return handler(self, request, request_params(request), **args)
        except ShopError as error:
            return wc_error(error)
    return route


@dataclass(frozen=True)
class ItemOps:
    """A collection's single-item operations (get_item, create_item, update_item, delete_item):
    the single routes and the batch route run the very same ones."""

    read: Callable[[Request, int], dict[str, Any]]
    create: Callable[[Request, dict[str, Any]], dict[str, Any]]
    update: Callable[[Request, int, dict[str, Any]], dict[str, Any]]
    delete: Callable[[Request, int, bool], dict[str, Any]]


@dataclass
class ProductRender:
    """A product's REST JSON with what it was rendered from, and its encoding once asked for."""

    product: Product
    basis: tuple[Any, ...]
    data: dict[str, Any]
    _encoded: bytes | None = None

    def encoded(self) -> bytes:
        if self._encoded is None:
            self._encoded = dump_json(self.data)
        return self._encoded


class ShopApp(FakeApp):
    """WooCommerce 9.x with woo-retailcrm 5.0.14, as far as the stock flows need."""

    name = "shop"

    def __init__(self, clock: Clock | None = None, *, crm_url: str = "", home_url: str | None = None,
                 connector_settings: dict[str, Any] | None = None,
                 http: OutgoingHttp | None = None) -> None:
        clock = clock or Clock()
        self.state = ShopState(clock)
        if home_url:
            self.state.settings["home_url"] = home_url.rstrip("/")
        self.connector = Connector(self.state, {"api_url": crm_url, **(connector_settings or {})}, http)
        self.api_keys: dict[str, str] = {CONSUMER_KEY: CONSUMER_SECRET}
        #: WooCommerce's nonce option: per key, one nonce per oauth_timestamp, 15 minutes kept.
        self._nonces: dict[str, dict[int, str]] = {}
        self._nonce_lock = threading.Lock()  # concurrent requests check and prune the same map
        #: product id -> its last rendering; see product_json.
        self._product_renders: dict[int, ProductRender] = {}
        super().__init__(clock)

    # ------------------------------------------------------------------ routes
    def api_rules(self) -> Iterable[Rule]:
        edit = ["PUT", "POST", "PATCH"]  # WP_REST_Server::EDITABLE
        yield Rule(REST, endpoint="rest_index", methods=["GET"])
        yield Rule(f"{REST}/products", endpoint="products", methods=["GET", "POST"])
        yield Rule(f"{REST}/products/batch", endpoint="products_batch", methods=edit)
        yield Rule(f"{REST}/products/<int:product_id>", endpoint="product", methods=["GET", "DELETE", *edit])
        yield Rule(f"{REST}/products/<int:product_id>/variations", endpoint="variations", methods=["GET", "POST"])
        yield Rule(f"{REST}/products/<int:product_id>/variations/batch", endpoint="variations_batch", methods=edit)
        yield Rule(f"{REST}/products/<int:product_id>/variations/<int:variation_id>", endpoint="variation",
                   methods=["GET", "DELETE", *edit])
        yield Rule(f"{REST}/orders", endpoint="orders", methods=["GET", "POST"])
        yield Rule(f"{REST}/orders/batch", endpoint="orders_batch", methods=edit)
        yield Rule(f"{REST}/orders/<int:order_id>", endpoint="order", methods=["GET", "DELETE", *edit])
        yield Rule(f"{REST}/system_status", endpoint="system_status", methods=["GET"])
        yield Rule(f"/{CATALOG_FILE}", endpoint="catalog_file", methods=["GET", "HEAD"])

    def admin_rules(self) -> Iterable[Rule]:
        yield Rule(f"{ADMIN_PREFIX}/checkout", endpoint="admin_checkout", methods=["POST"])
        yield Rule(f"{ADMIN_PREFIX}/connector/jobs/<job>", endpoint="admin_job", methods=["POST"])
        yield Rule(f"{ADMIN_PREFIX}/connector/settings", endpoint="admin_connector_settings", methods=["GET", "PUT"])
        yield Rule(f"{ADMIN_PREFIX}/settings", endpoint="admin_shop_settings", methods=["GET", "PUT"])
        yield Rule(f"{ADMIN_PREFIX}/openapi.json", endpoint="admin_openapi", methods=["GET"])

    # ------------------------------------------------------------------ plumbing
    def dispatch(self, request: Request) -> Response:
        """One WordPress request; the stock changes it caused go into its journal entry."""
        with self.state.request() as scope:
            response = self._serve(request)
        request.environ["stocksim.stock"] = scope.stock
        return response

    def journalled(self, request: Request) -> bool:
        # Checkout and connector jobs are control routes, but they stand for requests WordPress
        # serves (a storefront checkout, a wp-cron hit), and they move stock.
        return super().journalled(request) or request.path.startswith(WORDPRESS_CONTROL_ROUTES)

    def journal_extra(self, request: Request) -> dict[str, Any]:
        return {"stock": request.environ.get("stocksim.stock", [])}

    def _serve(self, request: Request) -> Response:
        """Authentication first (as WP does), then the route."""
        self.connector.default_home_url = self._home_url(request)
        if request.path.startswith("/wp-json/"):
            request.environ["stocksim.params"] = _query_params(request)
            denied = self._authenticate(request)
            if denied is not None:
                return denied
        return super().dispatch(request)

    def api_error(self, request: Request, status: int, message: str) -> Response:
        if request.path.startswith(ADMIN_PREFIX):
            return json_response({"error": message}, status)
        if request.path.startswith("/wp-json/"):
            if status >= 500:
                return wc_error(ShopError("internal_server_error", CRITICAL_ERROR, status))
            if status in (404, 405):  # WordPress answers a wrong method exactly like an unknown route
                return wc_error(ShopError("rest_no_route", "No route was found matching the URL and request "
                                          "method.", 404))
            # Only an injected fault asks for another status; WordPress has no error of its own for it.
            return wc_error(ShopError("stocksim_fault", message, status))
        if status >= 500:
            return Response(CRITICAL_ERROR, status=500, content_type="text/html; charset=UTF-8")
        return Response(WP_404_PAGE.format(name=self.state.settings.get("blogname", "")), status=404,
                        content_type="text/html; charset=UTF-8")

    def reset(self) -> None:
        self.state.reset()
        self.connector.reset()
        self._nonces.clear()
        self._product_renders.clear()

    def state_snapshot(self) -> dict[str, Any]:
        return {**self.state.snapshot(), "connector": self.connector.snapshot()}

    def _home_url(self, request: Request) -> str:
        home = request.environ.get("stocksim.home")  # once per request: a products page asks 100 times
        if home is None:
            home = request.environ["stocksim.home"] = str(
                self.state.settings.get("home_url") or request.host_url).rstrip("/")
        return home

    # ------------------------------------------------------------------ authentication (§2.8)
    def _authenticate(self, request: Request) -> Response | None:
        """Sets ``stocksim.user`` when a key is proven; answers 401 for bad credentials."""
        params: dict[str, str] = request.environ["stocksim.params"]
        request.environ["stocksim.user"] = False
        basic = request.authorization
        if "consumer_key" in params or (basic is not None and basic.type == "basic"):
            key = params.get("consumer_key") or (basic.username if basic else "") or ""
            secret = params.get("consumer_secret") or (basic.password if basic else "") or ""
            return self._check_key_secret(request, key, secret, basic is not None)
        if "oauth_consumer_key" in params:
            return self._check_oauth(request, params)
        return None  # anonymous: each route's permission check answers

    def _check_key_secret(self, request: Request, key: str, secret: str, basic: bool) -> Response | None:
        if key not in self.api_keys:
            return None  # an unknown key falls through to anonymous
        if not hmac.compare_digest(self.api_keys[key], secret):
            headers = {"WWW-Authenticate": 'Basic realm="WooCommerce API. Use a consumer key in the username field '
                                          'and a consumer secret in the password field."'} if basic else None
            return wc_error(ShopError("woocommerce_rest_authentication_error", "Consumer secret is invalid.", 401),
                            headers)
        request.environ["stocksim.user"] = True
        return None

    def _check_oauth(self, request: Request, params: dict[str, str]) -> Response | None:
        missing = [p for p in OAUTH_PARAMS if not params.get(p)]
        if missing:
            noun = "parameter" if len(missing) == 1 else "parameters"
            return auth_error(f"Missing OAuth {noun} {', '.join(missing)}",
                              "woocommerce_rest_authentication_missing_parameter")
        key = params["oauth_consumer_key"]
        if key not in self.api_keys:
            return auth_error("Consumer key is invalid.")
        method = params["oauth_signature_method"]
        if method not in ("HMAC-SHA1", "HMAC-SHA256"):
            return auth_error("Invalid signature - signature method is invalid.")
        expected = oauth_signature(request.method, self._signed_url(request), params, self.api_keys[key], method)
        given = params["oauth_signature"].replace(" ", "+")
        if not hmac.compare_digest(expected, given):
            return auth_error("Invalid signature - provided signature does not match.")
        # The timestamp is not checked against a clock: the client stamps wall time, the shop
        # lives in simulated time. Nonces are still remembered per timestamp, as WooCommerce does.
        if not self._fresh_nonce(key, params["oauth_timestamp"], params["oauth_nonce"]):
            return auth_error("Invalid nonce - nonce has already been used.")
        request.environ["stocksim.user"] = True
        return None

    def _signed_url(self, request: Request) -> str:
        """get_home_url() + the request path: the home URL, not the Host header, is signed."""
        raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
        path = urlsplit(raw).path if raw else quote(request.path)
        home = self._home_url(request)
        home_path = urlsplit(home).path.rstrip("/")
        if home_path and path.startswith(home_path):
            path = path[len(home_path):]
        return home + path

    def _fresh_nonce(self, key: str, timestamp: str, nonce: str) -> bool:
        """check_oauth_timestamp_and_nonce(): used nonces live in a map timestamp → nonce,
        pruned after 15 minutes (measured on the client's own timestamps here)."""
        with self._nonce_lock:
            used = self._nonces.setdefault(key, {})
            if nonce in used.values():
                return False
            stamp = int(timestamp) if timestamp.isdigit() else 0
            used[stamp] = nonce
            horizon = max(used) - 15 * 60
            for old in [t for t in used if t < horizon]:
                del used[old]
            return True

    @staticmethod
    def _permission(request: Request, kind: str) -> None:
        """The route's permission_callback: anonymous requests get 401."""
        if request.environ.get("stocksim.user"):
            return
        code, message = {
            "list": ("woocommerce_rest_cannot_view", "Sorry, you cannot list resources."),
            "view": ("woocommerce_rest_cannot_view", "Sorry, you cannot view this resource."),
            "edit": ("woocommerce_rest_cannot_edit", "Sorry, you are not allowed to edit this resource."),
            "create": ("woocommerce_rest_cannot_create", "Sorry, you are not allowed to create resources."),
            "delete": ("woocommerce_rest_cannot_delete", "Sorry, you are not allowed to delete this resource."),
            "batch": ("woocommerce_rest_cannot_batch", "Sorry, you are not allowed to batch manipulate this resource."),
        }[kind]
        raise ShopError(code, message, 401)

    # ------------------------------------------------------------------ REST: products
    @rest_route
    def rest_index(self, request: Request, params: dict[str, Any]) -> Response:
        routes = {f"/wc/v3{r.rule[len(REST):]}": {"methods": sorted(r.methods or [])}
                  for r in self.url_map.iter_rules() if r.rule.startswith(REST + "/")}
        return json_response({"namespace": "wc/v3", "routes": routes})

    @rest_route
    def products(self, request: Request, params: dict[str, Any]) -> Response:
        if request.method == "POST":
            return self._create(request, params, self._product_items())
        self._permission(request, "list")
        sku = params.get("sku")
        skus = None if sku is None else [s for s in str(sku).split(",")] + [str(sku)]
        found = self.state.list_products(
            skus=skus, types=enum_list(params, "type", REST_PRODUCT_TYPES),
            include=int_list(params, "include"), parent=int_list(params, "parent"),
            status=self._status_filter(params), stock_status=enum_param(params, "stock_status", STOCK_STATUSES, None))
        home = self._home_url(request)
        return self._paged(request, params, found, lambda p: self._product_render(p, home).encoded())

    @rest_route
    def product(self, request: Request, params: dict[str, Any], product_id: int) -> Response:
        return self._one(request, params, self._product_items(), product_id)

    @rest_route
    def products_batch(self, request: Request, params: dict[str, Any]) -> Response:
        return self._batch(request, params, self._product_items())

    @staticmethod
    def _status_filter(params: dict[str, Any]) -> str:
        return enum_param(params, "status", ("any", "trash") + PRODUCT_STATUSES, "any") or "any"

    def _product_items(self) -> ItemOps:
        def read(request: Request, product_id: int) -> dict[str, Any]:
            return self._item_json(self.product_json, self.state.get_product(product_id), request)

        return ItemOps(read=read, create=lambda request, body: self._create_product(request, body, None),
                       update=self._update_product, delete=self._delete_product)

    def _create_product(self, request: Request, body: dict[str, Any], parent_id: int | None) -> dict[str, Any]:
        if body.get("id"):
            raise ShopError("woocommerce_rest_product_exists", "Cannot create existing product.", 400)
        fields = validate(body, PRODUCT_SCHEMA)
        if parent_id is not None:
            fields.update(type="variation", parent_id=parent_id)
            self.state.variations_of(parent_id)  # 404 for an unknown parent
        product = self.state.create_product(**fields)
        return self._item_json(self.variation_json if parent_id is not None else self.product_json, product, request)

    def _update_product(self, request: Request, product_id: int, body: dict[str, Any]) -> dict[str, Any]:
        self._refuse_variation(product_id)
        product = self.state.update_product(product_id, validate(body, PRODUCT_SCHEMA))
        return self._item_json(self.product_json, product, request)

    def _delete_product(self, request: Request, product_id: int, force: bool) -> dict[str, Any]:
        self._refuse_variation(product_id)
        return self._item_json(self.product_json, self.state.delete_product(product_id, force=force), request)

    def _refuse_variation(self, product_id: int) -> None:
        """Writes to /products/{id} refuse a variation id: it has its own route."""
        existing = self.state.products.get(product_id)
        if existing is not None and existing.type == "variation":
            raise ShopError("woocommerce_rest_invalid_product_id", "To manipulate product variations you should "
                            "use the /products/&lt;product_id&gt;/variations/&lt;id&gt; endpoint.", 404)

    # ------------------------------------------------------------------ REST: variations
    @rest_route
    def variations(self, request: Request, params: dict[str, Any], product_id: int) -> Response:
        if request.method == "POST":
            return self._create(request, params, self._variation_items(product_id))
        self._permission(request, "list")
        found = self.state.variations_of(product_id, status=self._status_filter(params))
        return self._paged(request, params, found, lambda v: self.variation_json(v, request))

    @rest_route
    def variation(self, request: Request, params: dict[str, Any], product_id: int, variation_id: int) -> Response:
        return self._one(request, params, self._variation_items(product_id), variation_id)

    @rest_route
    def variations_batch(self, request: Request, params: dict[str, Any], product_id: int) -> Response:
        return self._batch(request, params, self._variation_items(product_id))

    def _variation_items(self, parent_id: int) -> ItemOps:
        def read(request: Request, variation_id: int) -> dict[str, Any]:
            return self._item_json(self.variation_json, self._variation(parent_id, variation_id, 404), request)

        def update(request: Request, variation_id: int, body: dict[str, Any]) -> dict[str, Any]:
            self._variation(parent_id, variation_id, 400)
            fields = validate(body, PRODUCT_SCHEMA)
            fields.pop("type", None)  # a variation stays a variation
            return self._item_json(self.variation_json, self.state.update_product(variation_id, fields), request)

        def delete(request: Request, variation_id: int, force: bool) -> dict[str, Any]:
            self._variation(parent_id, variation_id, 404)
            deleted = self.state.delete_product(variation_id, force=force)
            return self._item_json(self.variation_json, deleted, request)

        return ItemOps(read=read, create=lambda request, body: self._create_product(request, body, parent_id),
                       update=update, delete=delete)

    def _variation(self, parent_id: int, variation_id: int, missing_status: int) -> Product:
        """A variation of that parent; another product's variation is as unknown as none."""
        found = self.state.products.get(variation_id)
        if found is None or found.type != "variation" or found.parent_id != parent_id:
            raise ShopError("woocommerce_rest_product_variation_invalid_id", "Invalid ID.", missing_status)
        return found

    # ------------------------------------------------------------------ REST: orders
    @rest_route
    def orders(self, request: Request, params: dict[str, Any]) -> Response:
        if request.method == "POST":
            return self._create(request, params, self._order_items())
        self._permission(request, "list")
        statuses = enum_list(params, "status", ("any", "trash") + ORDER_STATUSES)
        found = self.state.list_orders(None if not statuses or "any" in statuses else statuses)
        return self._paged(request, params, found, lambda o: self.order_json(o, request))

    @rest_route
    def order(self, request: Request, params: dict[str, Any], order_id: int) -> Response:
        return self._one(request, params, self._order_items(), order_id)

    @rest_route
    def orders_batch(self, request: Request, params: dict[str, Any]) -> Response:
        return self._batch(request, params, self._order_items())

    def _order_items(self) -> ItemOps:
        def read(request: Request, order_id: int) -> dict[str, Any]:
            return self._item_json(self.order_json, self.state.get_order(order_id), request)

        return ItemOps(read=read, create=self._create_order, update=self._update_order, delete=self._delete_order)

    def _create_order(self, request: Request, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("id"):
            raise ShopError("woocommerce_rest_shop_order_exists", "Cannot create existing order.", 400)
        fields = validate(body, ORDER_SCHEMA)
        lines = line_inputs(fields.pop("line_items", []), updating=False)
        order = self.state.create_order(line_items=lines, **order_props(fields))
        return self._item_json(self.order_json, order, request)

    def _update_order(self, request: Request, order_id: int, body: dict[str, Any]) -> dict[str, Any]:
        fields = validate(body, ORDER_SCHEMA)
        lines = line_inputs(fields.pop("line_items", []), updating=True)
        order = self.state.update_order(order_id, line_items=lines, **order_props(fields))
        return self._item_json(self.order_json, order, request)

    def _delete_order(self, request: Request, order_id: int, force: bool) -> dict[str, Any]:
        return self._item_json(self.order_json, self.state.delete_order(order_id, force=force), request)

    # ------------------------------------------------------------------ item routes shared by every collection
    def _create(self, request: Request, params: dict[str, Any], items: ItemOps) -> Response:
        self._permission(request, "create")
        created = items.create(request, params)
        location = f"{self._home_url(request)}{request.path.rstrip('/')}/{created['id']}"
        return json_response(created, 201, {"Location": location})

    def _one(self, request: Request, params: dict[str, Any], items: ItemOps, item_id: int) -> Response:
        """GET, PUT/POST/PATCH (update) or DELETE of one item."""
        if request.method == "GET":
            self._permission(request, "view")
            return json_response(items.read(request, item_id))
        if request.method == "DELETE":
            self._permission(request, "delete")
            force = coerce("force", params.get("force", False), "boolean")
            return json_response(items.delete(request, item_id, force))
        self._permission(request, "edit")
        return json_response(items.update(request, item_id, params))

    def _batch(self, request: Request, params: dict[str, Any], items: ItemOps) -> Response:
        """WC_REST_Controller::batch_items(): each item through the single-item operation, in
        order and independently; a failed item becomes an error slot, the others still happen."""
        self._permission(request, "batch")
        sections = batch_sections(params)
        answer: dict[str, list[dict[str, Any]]] = {}
        for index, item in enumerate(sections["create"]):
            answer.setdefault("create", []).append(batch_slot(
                0, lambda: items.create(request, batch_item("create", index, item))))
        for index, item in enumerate(sections["update"]):
            slot_id = (item.get("id") or 0) if isinstance(item, dict) else 0
            answer.setdefault("update", []).append(batch_slot(
                slot_id, lambda: items.update(request, _intval(slot_id), batch_item("update", index, item))))
        for raw_id in sections["delete"]:
            item_id = _intval(raw_id)
            if item_id:  # batch_items() skips ids that cast to 0
                answer.setdefault("delete", []).append(batch_slot(
                    item_id, lambda: items.delete(request, item_id, True)))
        return json_response(answer or [])  # PHP's empty array() is a JSON []

    def _item_json(self, render: Callable[[Any, Request], dict[str, Any]], item: Any,
                   request: Request) -> dict[str, Any]:
        with self.state.lock:  # one consistent view of the item and its parent
            return render(item, request)

    @rest_route
    def system_status(self, request: Request, params: dict[str, Any]) -> Response:
        self._permission(request, "view")
        return json_response({
            "environment": {"home_url": self._home_url(request), "site_url": self._home_url(request),
                            "version": WC_VERSION, "wp_version": "6.8.1"},
            "active_plugins": [{"plugin": "woo-retailcrm/woo-retailcrm.php", "name": "Simla.com",
                                "version": "5.0.14"}],
            "settings": {"currency": self.state.settings["woocommerce_currency"]},
        })

    # ------------------------------------------------------------------ the catalog file
    def catalog_file(self, request: Request) -> Response:
        content = self.state.get_file(CATALOG_FILE)
        if content is None:
            return self.api_error(request, 404, "not found")
        return Response(content, content_type="application/xml")

    # ------------------------------------------------------------------ pagination (§2.4)
    def _paged(self, request: Request, params: dict[str, Any], items: list[Any],
               render: Callable[[Any], dict[str, Any] | bytes]) -> Response:
        """A page of a collection; ``render`` gives an item's JSON, or that JSON already encoded."""
        page = int_param(params, "page", 1, minimum=1)
        per_page = int_param(params, "per_page", 10, minimum=1, maximum=100)
        items = sort_items(items, params)
        total = len(items)
        pages = math.ceil(total / per_page)
        with self.state.lock:
            rendered = [render(item) for item in items[(page - 1) * per_page: page * per_page]]
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        links = self._page_links(request, params, page, pages)
        if links:
            headers["Link"] = links
        encoded = [part if isinstance(part, bytes) else dump_json(part) for part in rendered]
        # A JSON array of compact documents is their compact encoding joined: the bytes dump_json gives.
        return encoded_json_response(b"[" + b",".join(encoded) + b"]", 200, headers)

    def _page_links(self, request: Request, params: dict[str, Any], page: int, pages: int) -> str:
        base = self._home_url(request) + request.path
        query = {k: v for k, v in params.items() if k not in AUTH_PARAMS and k != "page"}
        links = []
        for rel, target in (("prev", page - 1), ("next", page + 1)):
            if 1 <= target <= pages:
                args = "&".join(f"{quote(k)}={quote(str(v))}" for k, v in {**query, "page": target}.items())
                links.append(f'<{base}?{args}>; rel="{rel}"')
        return ", ".join(links)

    # ------------------------------------------------------------------ JSON shapes (§2.2, §2.5)
    def product_json(self, product: Product, request: Request) -> dict[str, Any]:
        """The REST product; shared with the rendering kept, so no caller may change it."""
        return self._product_render(product, self._home_url(request)).data

    def _product_render(self, product: Product, home: str) -> "ProductRender":
        """Rendering a product's ~70 fields cost more than serialising them, so the last
        rendering of each product is kept with everything it was rendered from (every product
        field it shows, the stock owner's quantity and status, the home URL, the parent's slug)
        and reused while all of that is equal. The product itself is part of the key (``is``),
        so a new product under a reused id after a reset never gets an old rendering."""
        state = self.state
        owner_link = state.products.get(product.parent_id) if product.type == "variation" else product
        owner = state.stock_owner(product)  # what managing_stock and the effective_* read, read once
        managing = state.global_manage_stock and owner is not None
        status = owner.stock_status if owner is not None and owner is not product else product.stock_status
        quantity = owner.stock_quantity if owner is not None else None
        basis = (home, (owner_link or product).slug, managing, status, quantity, product.name, product.slug,
                 product.date_created, product.date_modified, product.type, product.status, product.sku,
                 product.regular_price, product.sale_price, product.virtual, product.backorders,
                 product.low_stock_amount, product.parent_id, product.attributes, tuple(product.children))
        kept = self._product_renders.get(product.id)
        if kept is not None and kept.product is product and kept.basis == basis:
            return kept
        kept = self._product_renders[product.id] = ProductRender(
            product, basis, self._render_product(product, home, owner_link, managing, status, quantity))
        return kept

    def _render_product(self, product: Product, home: str, owner_link: Product | None, managing: bool,
                        status: str, quantity: int | None) -> dict[str, Any]:
        return {
            "id": product.id, "name": product.name, "slug": product.slug,
            "permalink": f"{home}/product/{(owner_link or product).slug}/",
            **_dates(product.date_created, product.date_modified),
            "type": product.type, "status": product.status, "featured": False, "catalog_visibility": "visible",
            "description": "", "short_description": "", "sku": product.sku, "price": product.price,
            "regular_price": product.regular_price, "sale_price": product.sale_price,
            "date_on_sale_from": None, "date_on_sale_from_gmt": None, "date_on_sale_to": None,
            "date_on_sale_to_gmt": None, "on_sale": bool(product.sale_price),
            "purchasable": product.price != "", "total_sales": 0, "virtual": product.virtual,
            "downloadable": False, "downloads": [], "download_limit": -1, "download_expiry": -1,
            "external_url": "", "button_text": "", "tax_status": "taxable", "tax_class": "",
            "manage_stock": managing, "stock_quantity": quantity,
            "backorders": product.backorders, "backorders_allowed": product.backorders != "no",
            "backordered": managing and status == "onbackorder", "low_stock_amount": product.low_stock_amount,
            "sold_individually": False, "weight": "", "dimensions": {"length": "", "width": "", "height": ""},
            "shipping_required": not product.virtual, "shipping_taxable": not product.virtual,
            "shipping_class": "", "shipping_class_id": 0, "reviews_allowed": True, "average_rating": "0.00",
            "rating_count": 0, "upsell_ids": [], "cross_sell_ids": [], "parent_id": product.parent_id,
            "purchase_note": "", "categories": [_category()], "tags": [], "images": [],
            "attributes": product.attributes, "default_attributes": [], "variations": list(product.children),
            "grouped_products": [], "menu_order": 0, "price_html": "", "related_ids": [], "meta_data": [],
            "stock_status": status, "has_options": product.type == "variable", "post_password": "",
            "_links": _links(home, f"products/{product.id}", "products"),
        }

    def variation_json(self, variation: Product, request: Request) -> dict[str, Any]:
        state = self.state
        home = self._home_url(request)
        parent = state.products.get(variation.parent_id)
        managing: bool | str = state.managing_stock(variation)
        if managing and state.managed_by_parent(variation):
            managing = "parent"
        status = state.effective_stock_status(variation)
        backorders = state.effective_backorders(variation)
        return {
            "id": variation.id, "type": "variation", "name": variation.name, "parent_id": variation.parent_id,
            **_dates(variation.date_created, variation.date_modified),
            "description": "", "permalink": f"{home}/product/{parent.slug if parent else ''}/",
            "sku": variation.sku, "price": variation.price, "regular_price": variation.regular_price,
            "sale_price": variation.sale_price, "date_on_sale_from": None, "date_on_sale_from_gmt": None,
            "date_on_sale_to": None, "date_on_sale_to_gmt": None, "on_sale": bool(variation.sale_price),
            "status": variation.status, "purchasable": variation.price != "", "virtual": variation.virtual,
            "downloadable": False, "downloads": [], "download_limit": -1, "download_expiry": -1,
            "tax_status": "taxable", "tax_class": "", "manage_stock": managing,
            "stock_quantity": state.effective_stock_quantity(variation), "stock_status": status,
            "backorders": backorders, "backorders_allowed": backorders != "no",
            "backordered": bool(managing) and status == "onbackorder",
            "low_stock_amount": variation.low_stock_amount, "weight": "",
            "dimensions": {"length": "", "width": "", "height": ""}, "shipping_class": "",
            "shipping_class_id": 0, "image": None, "attributes": variation.attributes, "menu_order": 0,
            "meta_data": [],
            "_links": _links(home, f"products/{variation.parent_id}/variations/{variation.id}",
                             f"products/{variation.parent_id}/variations"),
        }

    def order_json(self, order: Order, request: Request) -> dict[str, Any]:
        home = self._home_url(request)
        total = order.total
        return {
            "id": order.id, "parent_id": 0, "status": order.status,
            "currency": self.state.settings["woocommerce_currency"], "version": WC_VERSION, "prices_include_tax": False,
            "date_created": order.date_created, "date_modified": order.date_modified,
            "discount_total": "0.00", "discount_tax": "0.00", "shipping_total": "0.00", "shipping_tax": "0.00",
            "cart_tax": "0.00", "total": f"{total:.2f}", "total_tax": "0.00", "customer_id": order.customer_id,
            "order_key": order.order_key,
            "billing": {k: order.billing.get(k, "") for k in BILLING_KEYS},
            "shipping": {k: order.shipping.get(k, "") for k in BILLING_KEYS if k != "email"},
            "payment_method": order.payment_method, "payment_method_title": order.payment_method_title,
            "transaction_id": order.transaction_id, "customer_ip_address": "", "customer_user_agent": "",
            "created_via": order.created_via, "customer_note": order.customer_note,
            "date_completed": order.date_completed, "date_paid": order.date_paid, "cart_hash": "",
            "number": str(order.id), "meta_data": [],
            "line_items": [self._line_json(order, li) for li in order.line_items],
            "tax_lines": [], "shipping_lines": [], "fee_lines": [], "coupon_lines": [], "refunds": [],
            "payment_url": f"{home}/checkout/order-pay/{order.id}/?pay_for_order=true&key={order.order_key}",
            "is_editable": order.status in ("pending", "on-hold", "auto-draft"),
            "needs_payment": order.status in ("pending", "failed") and total > 0,
            "needs_processing": True,
            "date_created_gmt": order.date_created, "date_modified_gmt": order.date_modified,
            "date_completed_gmt": order.date_completed, "date_paid_gmt": order.date_paid,
            "currency_symbol": "\u20bd",
            "_links": _links(home, f"orders/{order.id}", "orders"),
        }

    def _line_json(self, order: Order, item: Any) -> dict[str, Any]:
        parent = self.state.products.get(item.product_id) if item.variation_id else None
        meta = [] if item.reduced_stock is None else [{
            "id": item.meta_id, "key": "_reduced_stock", "value": str(item.reduced_stock),
            "display_key": "_reduced_stock", "display_value": str(item.reduced_stock)}]
        return {
            "id": item.id, "name": item.name, "product_id": item.product_id, "variation_id": item.variation_id,
            "quantity": item.quantity, "tax_class": "", "subtotal": f"{item.subtotal:.2f}", "subtotal_tax": "0.00",
            "total": f"{item.total:.2f}", "total_tax": "0.00", "taxes": [], "meta_data": meta,
            "sku": item.sku or None, "price": round(item.total / item.quantity, 2) if item.quantity else 0,
            "image": {"id": "", "src": ""}, "parent_name": parent.name if parent else None,
        }

    # ------------------------------------------------------------------ control and admin routes
    def admin_checkout(self, request: Request) -> Response:
        """A site checkout (woocommerce.md §3.6), answered like a REST order (201); its errors
        are WooCommerce's, as a storefront would show them."""
        try:
            lines, billing, method = checkout_input(json_body(request))
            order = self.state.checkout(lines, billing, method)
        except ShopError as error:
            return wc_error(error)
        return json_response(self._item_json(self.order_json, order, request), 201)

    def admin_openapi(self, request: Request) -> Response:
        """The OpenAPI 3 document of the REST v3 routes and the catalog file, served from this fake."""
        from fakes.shop.openapi import openapi_document  # it reads this module's schemas
        return json_response(openapi_document(self._home_url(request)))

    def admin_job(self, request: Request, job: str) -> Response:
        if job not in self.connector.JOBS:
            return json_response({"error": f"unknown job {job!r}", "jobs": list(self.connector.JOBS)}, 404)
        return json_response(self.connector.run_job(job).to_json())

    def admin_connector_settings(self, request: Request) -> Response:
        if request.method == "PUT":
            refused = _put_settings(request, self.connector.update_settings)
            if refused is not None:
                return refused
        return json_response(self.connector.snapshot()["settings"])

    def admin_shop_settings(self, request: Request) -> Response:
        if request.method == "PUT":
            refused = _put_settings(request, self.state.update_settings)
            if refused is not None:
                return refused
        return json_response(dict(self.state.settings))


def _put_settings(request: Request, update: Callable[[dict[str, Any]], Any]) -> Response | None:
    """A control-plane settings patch: None when applied, else the 400 {"error"} answer."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return json_response({"error": "expected a JSON object of settings"}, 400)
    try:
        update(body)
    except ShopError as error:
        return json_response({"error": error.message}, 400)
    except ValueError as exc:
        return json_response({"error": str(exc)}, 400)
    return None


# =========================================================================== request parsing
def _query_params(request: Request) -> dict[str, str]:
    """The query as PHP's $_GET sees it: a repeated key keeps its last value (the client
    repeats every parameter over http), in first-seen order."""
    params: dict[str, str] = {}
    for key, value in parse_qsl(request.query_string.decode("latin-1"), keep_blank_values=True):
        params[key] = value
    return params


def json_body(request: Request) -> dict[str, Any]:
    """parse_json_params(): a body PHP's json_decode refuses is rest_invalid_json; valid JSON
    that is no object adds no named parameter, so WordPress goes on as if it were empty."""
    raw = request.get_data()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw.decode("utf-8"), parse_constant=_no_json_constant)
    except UnicodeDecodeError:
        raise _invalid_json(5, "Malformed UTF-8 characters, possibly incorrectly encoded") from None
    except ValueError:
        raise _invalid_json(4, "Syntax error") from None
    return body if isinstance(body, dict) else {}


def _no_json_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")  # Python reads NaN and Infinity, PHP does not


def _invalid_json(code: int, reason: str) -> ShopError:
    return ShopError("rest_invalid_json", "Invalid JSON body passed.", 400,
                     json_error_code=code, json_error_message=reason)


def request_params(request: Request) -> dict[str, Any]:
    """WP_REST_Request params: the query, overridden by the body. A JSON body counts on any
    method (WordPress validates it on GET too); a form body only on methods that take a body."""
    query = request.environ.get("stocksim.params")  # parsed once per request, by _serve
    if query is None:
        query = _query_params(request)
    params: dict[str, Any] = {k: v for k, v in query.items() if k not in AUTH_PARAMS}
    if "json" in (request.mimetype or ""):
        params.update(json_body(request))
    elif request.method in ("POST", "PUT", "PATCH", "DELETE"):
        params.update(json_body(request) if not request.mimetype else request.form.to_dict())
    return params


BATCH_LIMIT = 100  # the woocommerce_rest_batch_items_limit filter's default


def batch_sections(params: dict[str, Any]) -> dict[str, list[Any]]:
    """The create/update/delete lists of a batch body, refused whole when over the limit."""
    sections: dict[str, list[Any]] = {}
    for name in ("create", "update", "delete"):
        value = params.get(name) or []  # array_filter(): null, "" and [] are no section
        if not isinstance(value, list):
            raise invalid_param(name, f"{name} is not of type array.")
        sections[name] = value
    if sum(len(v) for v in sections.values()) > BATCH_LIMIT:
        raise ShopError("woocommerce_rest_request_entity_too_large",
                        f"Unable to accept more than {BATCH_LIMIT} items for this request.", 413)
    return sections


def batch_item(section: str, index: int, item: Any) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise invalid_param(f"{section}[{index}]", f"{section}[{index}] is not of type object.")
    return item


def batch_slot(item_id: Any, operation: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """One answer slot: the item's JSON, or {"id", "error"} when its operation failed."""
    try:
        return operation()
    except ShopError as error:
        return {"id": item_id, "error": error_body(error)}


def validate(body: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """rest_validate_value_from_schema for the fields the fake knows; others are ignored."""
    fields: dict[str, Any] = {}
    for name, kind in schema.items():
        if name in body:
            fields[name] = coerce(name, body[name], kind)
    return fields


def coerce(name: str, value: Any, kind: Any) -> Any:
    if isinstance(kind, tuple):
        if value not in kind:
            raise invalid_param(name, f"{name} is not one of {_one_of(kind)}.")
        return value
    nullable = kind.endswith("|null")
    base = kind.split("|")[0]
    if value is None and nullable:
        return None
    checker = {"string": _as_string, "integer": _as_integer, "boolean": _as_boolean,
               "object": _as_object, "array": _as_array}[base]
    ok, converted = checker(value)
    if not ok:
        kind_text = f"{base},null" if nullable else base
        raise invalid_param(name, f"{name} is not of type {kind_text}.")
    return converted


def _as_string(value: Any) -> tuple[bool, Any]:
    return isinstance(value, str), value


def _as_integer(value: Any) -> tuple[bool, Any]:
    if isinstance(value, bool):
        return False, None
    if isinstance(value, int):
        return True, value
    try:
        number = float(str(value))
    except ValueError:
        return False, None
    return (number == int(number), int(number)) if math.isfinite(number) else (False, None)


def _as_boolean(value: Any) -> tuple[bool, Any]:
    if isinstance(value, bool):
        return True, value
    text = str(value).lower()
    if text in ("true", "1"):
        return True, True
    if text in ("false", "0", ""):
        return True, False
    return False, None


def _as_object(value: Any) -> tuple[bool, Any]:
    return isinstance(value, dict), value


def _as_array(value: Any) -> tuple[bool, Any]:
    return isinstance(value, list), value


def int_param(params: dict[str, Any], name: str, default: int, *, minimum: int | None = None,
              maximum: int | None = None) -> int:
    if name not in params:
        return default
    ok, value = _as_integer(params[name])
    if not ok:
        raise invalid_param(name, f"{name} is not of type integer.")
    if minimum is not None and maximum is not None and not minimum <= value <= maximum:
        raise invalid_param(name, f"{name} must be between {minimum} (inclusive) and {maximum} (inclusive)",
                            "rest_out_of_bounds")
    if minimum is not None and value < minimum:
        raise invalid_param(name, f"{name} must be greater than or equal to {minimum}", "rest_out_of_bounds")
    return value


def enum_param(params: dict[str, Any], name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    if name not in params:
        return default
    return coerce(name, params[name], allowed)


def enum_list(params: dict[str, Any], name: str, allowed: tuple[str, ...]) -> list[str] | None:
    if name not in params or params[name] in ("", None):
        return None
    values = params[name] if isinstance(params[name], list) else str(params[name]).split(",")
    for value in values:
        coerce(name, value, allowed)
    return list(values)


def int_list(params: dict[str, Any], name: str) -> list[int] | None:
    if name not in params or params[name] in ("", None):
        return None
    values = params[name] if isinstance(params[name], list) else str(params[name]).split(",")
    return [coerce(name, v, "integer") for v in values]


def sort_items(items: list[Any], params: dict[str, Any]) -> list[Any]:
    order = enum_param(params, "order", ("asc", "desc"), "desc")
    orderby = enum_param(params, "orderby", ("date", "id", "include", "title", "slug", "modified"), "date")
    keys: dict[str, Callable[[Any], Any]] = {
        "date": lambda o: (o.date_created, o.id), "id": lambda o: o.id, "include": lambda o: o.id,
        "title": lambda o: (getattr(o, "name", ""), o.id), "slug": lambda o: (getattr(o, "slug", ""), o.id),
        "modified": lambda o: (o.date_modified, o.id),
    }
    return sorted(items, key=keys[str(orderby)], reverse=order == "desc")


def line_inputs(raw: list[Any], *, updating: bool) -> list[LineInput]:
    lines = []
    for index, entry in enumerate(raw):
        if not isinstance(entry, dict):
            raise invalid_param("line_items", f"line_items[{index}] is not of type object.")
        fields = _line_fields(index, entry)
        remove = updating and fields.get("id") is not None and (
            fields.get("quantity") == 0 or ("product_id" in entry and entry["product_id"] is None))
        lines.append(LineInput(
            id=fields.get("id") if updating else None, product_id=fields.get("product_id"),
            variation_id=fields.get("variation_id"), sku=fields.get("sku"), quantity=fields.get("quantity"),
            total=_float_or_none(fields.get("total")), subtotal=_float_or_none(fields.get("subtotal")),
            name=fields.get("name"), remove=remove))
    return lines


def _line_fields(index: int, entry: dict[str, Any]) -> dict[str, Any]:
    """Nested schema validation: the error names the whole line_items parameter."""
    fields: dict[str, Any] = {}
    for key, value in entry.items():
        if key not in LINE_SCHEMA:
            continue
        try:
            fields[key] = coerce(f"line_items[{index}][{key}]", value, LINE_SCHEMA[key])
        except ShopError as error:
            reason = next(iter(error.data.get("params", {}).values()), error.message)
            raise invalid_param("line_items", reason) from None
    return fields


def order_props(fields: dict[str, Any]) -> dict[str, Any]:
    props = dict(fields)
    for key in ("billing", "shipping"):
        if key in props:
            props[key] = {k: str(v) for k, v in props[key].items() if k in BILLING_KEYS and v is not None}
    return props


def checkout_input(body: dict[str, Any]) -> tuple[list[LineInput], dict[str, str], str]:
    raw_lines = body.get("line_items")
    if not isinstance(raw_lines, list) or not raw_lines:
        raise invalid_param("line_items", "line_items must contain at least 1 items.")
    lines = []
    for entry in raw_lines:
        if not isinstance(entry, dict):
            raise invalid_param("line_items", "line_items[0] is not of type object.")
        product_id = coerce("product_id", entry.get("product_id"), "integer")
        variation_id = coerce("variation_id", entry.get("variation_id", 0), "integer")
        quantity = coerce("quantity", entry.get("quantity", 1), "integer")
        if quantity < 1:
            raise invalid_param("quantity", "quantity must be greater than or equal to 1")
        lines.append(LineInput(product_id=product_id, variation_id=variation_id or None, quantity=quantity))
    billing = body.get("billing", {})
    if not isinstance(billing, dict):
        raise invalid_param("billing", "billing is not of type object.")
    method = body.get("payment_method", "cod")
    if not isinstance(method, str) or not method:
        raise invalid_param("payment_method", "payment_method is not of type string.")
    return lines, {k: str(v) for k, v in billing.items() if k in BILLING_KEYS}, method


def _float_or_none(value: Any) -> float | None:
    try:
        return None if value is None else float(value)
    except ValueError:
        return None


# =========================================================================== answers
def error_body(error: ShopError) -> dict[str, Any]:
    """WP_Error as the REST server prints it."""
    return {"code": error.code, "message": error.message, "data": {"status": error.status, **error.data}}


def wc_error(error: ShopError, headers: dict[str, str] | None = None) -> Response:
    return json_response(error_body(error), error.status, headers)


def auth_error(message: str, code: str = "woocommerce_rest_authentication_error") -> Response:
    return wc_error(ShopError(code, message, 401))


def oauth_signature(method: str, url: str, params: dict[str, str], secret: str, algorithm: str) -> str:
    """The signature the woocommerce client computes (woocommerce/oauth.py)."""
    signed = {k: v for k, v in params.items() if k != "oauth_signature"}
    ordered = OrderedDict()
    for base in sorted({k.split("[")[0] for k in signed}):
        for key in signed:
            if key == base or key.startswith(base + "["):
                ordered[key] = signed[key]
    normalized = [f"{_normalize(k)}%3D{_normalize(v)}" for k, v in ordered.items()]
    base_string = f"{method.upper()}&{quote(url, '')}&{'%26'.join(normalized)}"
    digest = hashlib.sha256 if algorithm == "HMAC-SHA256" else hashlib.sha1
    mac = hmac.new(f"{secret}&".encode(), base_string.encode(), digest).digest()
    return base64.b64encode(mac).decode()


def _normalize(text: str) -> str:
    return quote(unquote(str(text))).replace("%", "%25")


def _dates(created: str, modified: str) -> dict[str, str]:
    return {"date_created": created, "date_created_gmt": created,
            "date_modified": modified, "date_modified_gmt": modified}


def _category() -> dict[str, Any]:
    return {"id": DEFAULT_CATEGORY["id"], "name": DEFAULT_CATEGORY["name"], "slug": DEFAULT_CATEGORY["slug"]}


def _links(home: str, own: str, collection: str) -> dict[str, Any]:
    return {"self": [{"href": f"{home}{REST}/{own}"}], "collection": [{"href": f"{home}{REST}/{collection}"}]}


__all__ = ["ShopApp", "CONSUMER_KEY", "CONSUMER_SECRET", "oauth_signature"]
