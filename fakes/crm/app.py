"""The fake RetailCRM's HTTP layer: API v5 wire format in, ``CrmState`` calls,
the real response envelope out. No business rule lives here.
"""

from __future__ import annotations

import functools
import json
import re
import time
from datetime import datetime
from typing import Any, Callable, Iterable

import requests
from werkzeug.routing import Rule
from werkzeug.wrappers import Request, Response

from fakes.base import ADMIN_PREFIX, AdminInputError, FakeApp, RateLimiter, admin_json, json_response, direct_session
from fakes.clock import CRM_DATETIME, Clock
from fakes.crm.catalog import IcmlError, parse_icml
from fakes.crm.state import (
    CrmError, CrmState, CustomerFilter, EntityFormatError, HistoryFilter, InputError, InventoryFilter,
    OrderFilter, OrderUpload, ParameterMissing, SettingsError,
)

V5 = "/api/v5"
INVENTORY_LIMITS = (20, 50, 100, 250)
LIMITS = (20, 50, 100)
TRUE_VALUES = {"1", "true", "True"}
CATALOG_FETCH_TIMEOUT = 10
# Symfony's wording, which the real API's validation messages use.
INVALID_FILTER = "Значение недопустимо."

ERROR_MESSAGES = {404: "API method not found", 405: "Method Not Allowed", 500: "Internal server error"}
#: GET /reference/<book> (sites aside: they depend on the key) → the response's
#: field and the ``CrmState`` method that renders it.
REFERENCE_BOOKS: dict[str, tuple[str, str]] = {
    "stores": ("stores", "stores_json"),
    "statuses": ("statuses", "statuses_json"),
    "status-groups": ("statusGroups", "status_groups_json"),
    "product-statuses": ("productStatuses", "product_statuses_json"),
    "order-methods": ("orderMethods", "order_methods_json"),
    "delivery-types": ("deliveryTypes", "delivery_types_json"),
    "payment-types": ("paymentTypes", "payment_types_json"),
}
# The body the Go client's tests mock for a rate-limited call; the real wording is unverified.
RATE_LIMITED = "Rate limit exceeded"
UPLOAD_FAILED = "Orders are loaded with errors"
# The real API answers a partly failed batch upload with this non-standard status.
PARTIAL_UPLOAD_STATUS = 460

_KEY = re.compile(r"^([^\[\]]+)((?:\[[^\[\]]*\])*)$")


# -- the PHP-style parameter encoding -----------------------------------------

def nested_params(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """``filter[ids][]=1``, ``filter[ids][0]=1`` and ``filter[details]=1`` as
    nested dicts and lists. A scalar gives way to a structure of the same
    name: the Python client sends ``filter=None`` when it has no filter."""
    root: dict[str, Any] = {}
    for key, value in pairs:
        *parents, last = _split_key(key)
        node = root
        for part in parents:
            part = part or str(len(node))
            if not isinstance(node.get(part), dict):
                node[part] = {}
            node = node[part]
        last = last or str(len(node))
        if not isinstance(node.get(last), dict):
            node[last] = value
    return {k: _listify(v) for k, v in root.items()}


def _split_key(key: str) -> list[str]:
    match = _KEY.match(key)
    if match is None:
        return [key]
    return [match.group(1), *re.findall(r"\[([^\[\]]*)\]", match.group(2))]


def _listify(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    converted = {k: _listify(v) for k, v in node.items()}
    if converted and all(k.isdigit() for k in converted):
        return [converted[k] for k in sorted(converted, key=int)]
    return converted


def as_bool(value: Any) -> bool:
    return str(value) in TRUE_VALUES


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.values())
    return value if isinstance(value, list) else [value]


def _ints(value: Any, name: str, errors: dict[str, str]) -> tuple[int, ...]:
    values = as_list(value)
    if not all(isinstance(v, str) and v.isdigit() for v in values):
        errors[f"children[{name}]"] = INVALID_FILTER
        return ()
    return tuple(int(v) for v in values)


def _strings(value: Any) -> tuple[str, ...]:
    return tuple(str(v) for v in as_list(value) if not isinstance(v, (dict, list)))


def _int_or_none(value: Any, name: str, errors: dict[str, str]) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, str) and value.isdigit():
        return int(value)
    errors[f"children[{name}]"] = INVALID_FILTER
    return None


def _date_bound(value: Any, name: str, day_end: bool, errors: dict[str, str]) -> str | None:
    """``Y-m-d H:i:s`` or ``Y-m-d`` (the whole day)."""
    if value is None or value == "":
        return None
    text = str(value)
    for fmt, suffix in ((CRM_DATETIME, ""), ("%Y-%m-%d", " 23:59:59" if day_end else " 00:00:00")):
        try:
            datetime.strptime(text, fmt)
            return text + suffix
        except ValueError:
            continue
    errors[f"children[{name}]"] = INVALID_FILTER
    return None


# -- one API request -------------------------------------------------------------

class ApiCall:
    """An authenticated request with its parameters decoded."""

    def __init__(self, request: Request, key: str) -> None:
        self.request = request
        self.key = key
        self.query = nested_params(request.args.items(multi=True))
        self.form = nested_params(request.form.items(multi=True))

    def param(self, name: str) -> Any:
        value = self.form.get(name, self.query.get(name))
        return None if value == "" else value

    def filter(self) -> dict[str, Any]:
        value = self.query.get("filter")
        return value if isinstance(value, dict) else {}

    def site(self) -> str | None:
        site = self.param("site")
        return site if isinstance(site, str) else None

    def by(self) -> str:
        by = self.param("by") or "externalId"
        if by not in ("externalId", "id"):
            raise InputError({"by": "The value you selected is not a valid choice."})
        return str(by)

    def entity(self, name: str) -> Any:
        """POST entity fields are JSON documents inside the form encoding."""
        raw = self.form.get(name)
        if raw is None or raw == "":
            raise ParameterMissing(name)
        try:
            return json.loads(raw)
        except (TypeError, ValueError):
            raise EntityFormatError({name: "This value is not valid JSON."}) from None

    def paging(self, limits: tuple[int, ...]) -> tuple[int, int]:
        limit, page = self.param("limit") or "20", self.param("page") or "1"
        errors: dict[str, str] = {}
        if not (isinstance(limit, str) and limit.isdigit() and int(limit) in limits):
            errors["limit"] = "The value you selected is not a valid choice."
        if not (isinstance(page, str) and page.isdigit() and int(page) >= 1):
            errors["page"] = "This value should be greater than or equal to 1."
        if errors:
            raise InputError(errors)
        return int(limit), int(page)


def _request_key(request: Request) -> str | None:
    # Header first (Python and Go clients), then the query and the form (PHP module).
    return request.headers.get("X-API-KEY") or request.args.get("apiKey") or request.form.get("apiKey")


def api_error(status: int, message: str, errors: dict[str, str] | None = None) -> Response:
    body: dict[str, Any] = {"success": False, "errorMsg": message}
    if errors:
        body["errors"] = errors
    return json_response(body, status)


def ok(status: int = 200, **fields: Any) -> Response:
    return json_response({"success": True, **fields}, status)


def api_endpoint(handler: Callable[..., Response]) -> Callable[..., Response]:
    """Authenticates, decodes parameters and turns ``CrmError`` into the envelope."""

    @functools.wraps(handler)
    def wrapper(self: "CrmApp", request: Request, **args: Any) -> Response:
        key = _request_key(request)
        if not key:
            return api_error(403, '"apiKey" is missing.')
        if self.state.api_key(key) is None:
            return api_error(403, 'Wrong "apiKey" value.')
        try:
            return handler(self, ApiCall(request, key), **args)
        except CrmError as exc:
            return api_error(exc.status, exc.message, exc.errors)

    return wrapper


class AdminError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# -- the app ---------------------------------------------------------------------------

class CrmApp(FakeApp):
    """``rate_limit``: requests per second per API key, 0 for none (the real CRM
    allows 10). ``monotonic`` is the wall-clock source the limit is measured on;
    tests inject their own."""

    name = "crm"

    def __init__(self, clock: Clock | None = None, *, rate_limit: int = 0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(clock)
        self.state = CrmState(self.clock)
        self.catalog_session = direct_session()
        self.rate_limiter = RateLimiter(rate_limit, monotonic)
        self._default_rate_limit = rate_limit

    def api_rules(self) -> Iterable[Rule]:
        get, post = ["GET"], ["POST"]
        yield Rule("/api/api-versions", endpoint="api_versions", methods=get)
        yield Rule("/api/credentials", endpoint="credentials", methods=get)
        yield Rule(f"{V5}/credentials", endpoint="credentials", methods=get)
        yield Rule("/api/system-info", endpoint="system_info", methods=get)
        yield Rule(f"{V5}/reference/sites", endpoint="reference_sites", methods=get)
        books = ", ".join(f"'{book}'" for book in REFERENCE_BOOKS)  # quoted: werkzeug reads "-" as an operator
        yield Rule(f"{V5}/reference/<any({books}):book>", endpoint="reference", methods=get)
        yield Rule(f"{V5}/store/inventories", endpoint="inventories", methods=get)
        yield Rule(f"{V5}/store/inventories/upload", endpoint="inventories_upload", methods=post)
        yield Rule(f"{V5}/orders", endpoint="orders", methods=get)
        yield Rule(f"{V5}/orders/create", endpoint="order_create", methods=post)
        yield Rule(f"{V5}/orders/fix-external-ids", endpoint="orders_fix_external_ids", methods=post)
        yield Rule(f"{V5}/orders/history", endpoint="orders_history", methods=get)
        yield Rule(f"{V5}/orders/statuses", endpoint="orders_statuses", methods=get)
        yield Rule(f"{V5}/orders/upload", endpoint="orders_upload", methods=post)
        yield Rule(f"{V5}/orders/<uid>", endpoint="order", methods=get)
        yield Rule(f"{V5}/orders/<uid>/edit", endpoint="order_edit", methods=post)
        yield Rule(f"{V5}/customers", endpoint="customers", methods=get)
        yield Rule(f"{V5}/customers/create", endpoint="customer_create", methods=post)
        yield Rule(f"{V5}/customers/history", endpoint="customers_history", methods=get)
        yield Rule(f"{V5}/customers/<uid>", endpoint="customer", methods=get)
        yield Rule(f"{V5}/customers/<uid>/edit", endpoint="customer_edit", methods=post)
        yield Rule(f"{V5}/statistic/update", endpoint="statistic_update", methods=get)

    def admin_rules(self) -> Iterable[Rule]:
        yield Rule(f"{ADMIN_PREFIX}/settings", endpoint="admin_settings", methods=["GET", "PUT"])
        yield Rule(f"{ADMIN_PREFIX}/catalog-import", endpoint="admin_catalog_import", methods=["POST"])
        yield Rule(f"{ADMIN_PREFIX}/openapi.json", endpoint="admin_openapi", methods=["GET"])

    def api_error(self, request: Request, status: int, message: str) -> Response:
        return api_error(status, ERROR_MESSAGES.get(status, message))

    def reset(self) -> None:
        self.state.reset()
        self.rate_limiter.limit = self._default_rate_limit
        self.rate_limiter.forget()

    def dispatch(self, request: Request) -> Response:
        # Counted per key as presented, before it is checked, and on every API
        # path: the limit guards the server, whatever the request turns out to be.
        if request.path.startswith("/api/"):
            key = _request_key(request)
            if key and not self.rate_limiter.admit(key):
                return api_error(503, RATE_LIMITED)
        return super().dispatch(request)

    def state_snapshot(self) -> dict[str, Any]:
        return self.state.snapshot()

    # -- bootstrap and references ------------------------------------------------
    @api_endpoint
    def api_versions(self, call: ApiCall) -> Response:
        return ok(versions=["3.0", "4.0", "5.0"])

    @api_endpoint
    def credentials(self, call: ApiCall) -> Response:
        api_key = self.state.api_key(call.key)
        assert api_key is not None  # api_endpoint has checked it
        return ok(**api_key.credentials_json())

    @api_endpoint
    def system_info(self, call: ApiCall) -> Response:
        base = call.request.host_url.rstrip("/")
        return ok(systemVersion="8.1.51", publicUrl=base, technicalUrl=base)

    @api_endpoint
    def reference_sites(self, call: ApiCall) -> Response:
        return ok(sites=self.state.sites_json(call.key))

    @api_endpoint
    def reference(self, call: ApiCall, book: str) -> Response:
        field, render = REFERENCE_BOOKS[book]
        return ok(**{field: getattr(self.state, render)()})

    @api_endpoint
    def statistic_update(self, call: ApiCall) -> Response:
        return ok()

    # -- stock -------------------------------------------------------------------------
    @api_endpoint
    def inventories(self, call: ApiCall) -> Response:
        limit, page = call.paging(INVENTORY_LIMITS)
        raw = call.filter()
        errors: dict[str, str] = {}
        flt = InventoryFilter(
            ids=_ints(raw.get("ids"), "ids", errors), sites=_strings(raw.get("sites")),
            offer_external_ids=_strings(raw.get("offerExternalId")), offer_xml_ids=_strings(raw.get("offerXmlId")),
        )
        if errors:
            raise InputError(errors)
        offers, pagination = self.state.inventories(call.key, flt, as_bool(raw.get("details")), limit, page)
        return ok(pagination=pagination, offers=offers)

    @api_endpoint
    def inventories_upload(self, call: ApiCall) -> Response:
        processed, not_found = self.state.upload_inventories(call.key, call.entity("offers"), call.site())
        return ok(processedOffersCount=processed, notFoundOffers=not_found)

    # -- orders --------------------------------------------------------------------------
    @api_endpoint
    def order_create(self, call: ApiCall) -> Response:
        order = self.state.create_order(call.key, call.entity("order"), call.site())
        return ok(201, id=order["id"], order=order)

    @api_endpoint
    def order_edit(self, call: ApiCall, uid: str) -> Response:
        payload = call.entity("order")
        order = self.state.edit_order(call.key, uid, payload, call.by(), call.site())
        return ok(id=order["id"], order=order)

    @api_endpoint
    def order(self, call: ApiCall, uid: str) -> Response:
        return ok(order=self.state.get_order(call.key, uid, call.by(), call.site()))

    @api_endpoint
    def orders(self, call: ApiCall) -> Response:
        limit, page = call.paging(LIMITS)
        raw = call.filter()
        errors: dict[str, str] = {}
        flt = OrderFilter(ids=_ints(raw.get("ids"), "ids", errors), external_ids=_strings(raw.get("externalIds")),
                          sites=_strings(raw.get("sites")), extended_statuses=_strings(raw.get("extendedStatus")))
        if errors:
            raise InputError(errors)
        orders, pagination = self.state.orders(call.key, flt, limit, page)
        return ok(pagination=pagination, orders=orders)

    @api_endpoint
    def orders_upload(self, call: ApiCall) -> Response:
        return _upload_response(self.state.upload_orders(call.key, call.entity("orders"), call.site()))

    @api_endpoint
    def orders_statuses(self, call: ApiCall) -> Response:
        errors: dict[str, str] = {}
        ids = _ints(call.query.get("ids"), "ids", errors)
        if errors:
            raise InputError(errors)
        return ok(orders=self.state.order_statuses(call.key, ids, _strings(call.query.get("externalIds"))))

    @api_endpoint
    def orders_fix_external_ids(self, call: ApiCall) -> Response:
        self.state.fix_external_ids(call.key, call.entity("orders"))
        return ok()

    @api_endpoint
    def orders_history(self, call: ApiCall) -> Response:
        limit, page = call.paging(LIMITS)
        flt = _history_filter(call.filter(), "orderId", "orderExternalId")
        history, pagination = self.state.order_history(call.key, flt, limit, page)
        return ok(generatedAt=self.clock.crm_format(), history=history, pagination=pagination)

    # -- customers -------------------------------------------------------------------------
    @api_endpoint
    def customer_create(self, call: ApiCall) -> Response:
        customer = self.state.create_customer(call.key, call.entity("customer"), call.site())
        return ok(201, id=customer["id"])

    @api_endpoint
    def customer(self, call: ApiCall, uid: str) -> Response:
        return ok(customer=self.state.get_customer(call.key, uid, call.by(), call.site()))

    @api_endpoint
    def customer_edit(self, call: ApiCall, uid: str) -> Response:
        payload = call.entity("customer")
        customer = self.state.edit_customer(call.key, uid, payload, call.by(), call.site())
        return ok(id=customer["id"])

    @api_endpoint
    def customers(self, call: ApiCall) -> Response:
        limit, page = call.paging(LIMITS)
        raw = call.filter()
        errors: dict[str, str] = {}
        email = raw.get("email")
        flt = CustomerFilter(ids=_ints(raw.get("ids"), "ids", errors), external_ids=_strings(raw.get("externalIds")),
                             sites=_strings(raw.get("sites")), email=email if isinstance(email, str) else None)
        if errors:
            raise InputError(errors)
        customers, pagination = self.state.customers(call.key, flt, limit, page)
        return ok(pagination=pagination, customers=customers)

    @api_endpoint
    def customers_history(self, call: ApiCall) -> Response:
        limit, page = call.paging(LIMITS)
        flt = _history_filter(call.filter(), "customerId", "customerExternalId")
        history, pagination = self.state.customer_history(call.key, flt, limit, page)
        return ok(generatedAt=self.clock.crm_format(), history=history, pagination=pagination)

    # -- admin plane -------------------------------------------------------------------------
    def admin_settings(self, request: Request) -> Response:
        """The CrmState settings plus ``rate_limit``, which belongs to the HTTP layer."""
        try:
            if request.method == "PUT":
                self._update_settings(admin_json(request))
        except ValueError as exc:  # SettingsError, AdminInputError and a bad rate_limit
            return json_response({"error": str(exc)}, 400)
        return json_response({**self.state.settings(), "rate_limit": self.rate_limiter.limit})

    def _update_settings(self, patch: Any) -> None:
        if not isinstance(patch, dict):
            raise SettingsError("settings must be a JSON object")
        state_patch = {k: v for k, v in patch.items() if k != "rate_limit"}
        # Both parts are checked before either changes, so a bad patch changes nothing.
        limit = RateLimiter.valid_limit(patch.get("rate_limit", self.rate_limiter.limit))
        self.state.update_settings(state_patch)
        self.rate_limiter.limit = limit

    def admin_openapi(self, request: Request) -> Response:
        """The OpenAPI 3 document of the real-API routes above, served from this very fake."""
        from fakes.crm.openapi import openapi_document  # it reads this module's constants
        return json_response(openapi_document(request.host_url.rstrip("/")))

    def admin_catalog_import(self, request: Request) -> Response:
        """Fetch each site's ICML and import it, as the CRM's ~4-hourly job does."""
        try:
            body = admin_json(request) if request.get_data() else {}
            if not isinstance(body, dict):
                raise AdminError(400, 'expected JSON {"site": <code>} or no body')
            sites = self.state.catalog_sites()
            site = body.get("site")
            if site is None:
                return json_response({"imports": [self._import_catalog(code, url) for code, url in sites.items()]})
            if site not in sites:
                raise AdminError(400, f"site {site!r} is unknown or has no yml_url")
            return json_response(self._import_catalog(site, sites[site]))
        except AdminInputError as exc:
            return json_response({"error": str(exc)}, 400)
        except AdminError as exc:
            return json_response({"error": exc.message}, exc.status)

    def _import_catalog(self, site: str, url: str) -> dict[str, Any]:
        try:
            response = self.catalog_session.get(url, timeout=CATALOG_FETCH_TIMEOUT)
            response.raise_for_status()
            offers = parse_icml(response.content)
        except requests.RequestException as exc:
            raise AdminError(502, f"fetching {url}: {exc}") from exc
        except IcmlError as exc:
            raise AdminError(502, f"parsing {url}: {exc}") from exc
        return self.state.catalog_import(site, offers)


def _upload_response(upload: OrderUpload) -> Response:
    if not upload.failed:
        return ok(uploadedOrders=upload.uploaded)
    return json_response({"success": False, "errorMsg": UPLOAD_FAILED, "errors": upload.errors,
                          "uploadedOrders": upload.uploaded, "failedOrders": upload.failed},
                         PARTIAL_UPLOAD_STATUS)


def _history_filter(raw: dict[str, Any], id_name: str, external_id_name: str) -> HistoryFilter:
    errors: dict[str, str] = {}
    flt = HistoryFilter(
        since_id=_int_or_none(raw.get("sinceId"), "sinceId", errors),
        start_date=_date_bound(raw.get("startDate"), "startDate", False, errors),
        end_date=_date_bound(raw.get("endDate"), "endDate", True, errors),
        entity_id=_int_or_none(raw.get(id_name), id_name, errors),
        entity_external_id=_external_id(raw.get(external_id_name)),
    )
    if errors:
        raise InputError(errors)
    return flt


def _external_id(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
