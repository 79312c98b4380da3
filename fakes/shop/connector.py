"""Our model of the woo-retailcrm plugin 5.0.14 living inside the shop.

It talks to the CRM over HTTP exactly as the plugin does (PHP
``http_build_query`` GETs, form-encoded POSTs with JSON-string fields, the
telemetry parameters, no retries) and changes the shop directly through
``ShopState``, as the plugin does through WooCommerce functions.

Jobs (module-behaviour.md §1-§3) run only when asked: the simulation's clock
decides when a cron event is due. Order uploads (§4) follow WooCommerce's
hooks: the checkout hook uploads at once, new and updated orders are pushed at
the end of the request, and nothing is pushed while history applies CRM
changes (no echo).
"""

from __future__ import annotations

import copy
import json
import logging
import threading
from collections import deque
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Callable, Iterable
from urllib.parse import quote_plus

from fakes.base import OutgoingHttp, OutgoingHttpError, load_json
from fakes.clock import CRM_DATETIME
from fakes.shop.icml import write_catalog
from fakes.shop.state import (
    CHECKOUT_PROCESSED, GATEWAYS, NEW_ORDER, ORDER_UPDATED, LineItem, Order, Product, RequestScope,
    ShopState, crm_to_wc_datetime, php_float,
)

log = logging.getLogger("stocksim.connector")

MODULE_VERSION = "5.0.14"
#: What every plugin GET carries after its own parameters (WC_Retailcrm_Request).
TELEMETRY: dict[str, Any] = {
    "cms_source": "WordPress", "cms_version": "6.8.1", "woo_version": "9.9.5", "php_version": "8.3.21",
    "module_version": MODULE_VERSION,
}
#: The misspelling is the plugin's: CRM item externalIds use this code.
ITEM_CODE = "woocomerce"
CATALOG_FILE = "simla.xml"
HISTORY_PAGE_GUARD = 10_000  # the plugin's orders loop has no cap; ours stops a runaway fake

DEFAULT_CONNECTOR_SETTINGS: dict[str, Any] = {
    "api_url": "",
    "api_key": "stocksim-connector-key",
    "corporate_enabled": "no",
    "sync": "yes",
    "history": "yes",
    "icml": "yes",
    "stores_for_uploading": [],
    "bind_by_sku": "no",
    "deactivate_update_order": "no",
    "update_number": "no",
    "loyalty": "no",
    "ua": "no",
    "order_methods": [],
    "pending": "new",
    "processing": "assembling",
    "on-hold": "prepayed",
    "completed": "complete",
    "cancelled": "cancel-other",
    "refunded": "not-upload",
    "failed": "not-upload",
}

#: config/objects.xml, group "order" and "item": history field → assembled key.
ORDER_FIELDS = {
    "id": "id", "created_at": "createdAt", "order_type": "orderType", "order_method": "orderMethod",
    "site": "site", "status": "status", "customer": "customer", "manager": "manager",
    "first_name": "firstName", "last_name": "lastName", "patronymic": "patronymic", "phone": "phone",
    "additional_phone": "additionalPhone", "email": "email", "payment_type": "paymentType",
    "payment_status": "paymentStatus", "discount": "discount", "discount_percent": "discountPercent",
    "prepay_sum": "prepaySum", "customer_comment": "customerComment", "manager_comment": "managerComment",
    "shipment_store": "shipmentStore", "shipment_date": "shipmentDate", "shipped": "shipped",
    "contact": "contact", "company": "company", "payment": "payment", "payments.amount": "amount",
    "payments.paid_at": "paidAt", "payments.comment": "comment", "payments.type": "type",
}
ITEM_FIELDS = {
    "order_product.id": "id", "order_product.initial_price": "initialPrice",
    "order_product.discount_total": "discountTotal", "order_product.discount_percent": "discountPercent",
    "order_product.quantity": "quantity", "order_product.status": "status", "order_product.summ": "summ",
    "order_product.price_type": "priceType",
}


class PhpFatal(Exception):
    """An error PHP would not catch: the cron run dies where it stands."""


# =========================================================================== encoding
def php_query(params: dict[str, Any]) -> str:
    """PHP http_build_query(): k[sub]=v, lists with explicit indices, true/false → 1/0, null skipped."""
    pairs: list[str] = []
    for key, value in params.items():
        _build_pairs(pairs, str(key), value)
    return "&".join(pairs)


def _build_pairs(pairs: list[str], key: str, value: Any) -> None:
    if value is None:
        return
    if isinstance(value, dict):
        for sub, item in value.items():
            _build_pairs(pairs, f"{key}[{sub}]", item)
    elif isinstance(value, (list, tuple)):
        for index, item in enumerate(value):
            _build_pairs(pairs, f"{key}[{index}]", item)
    else:
        pairs.append(f"{_php_urlencode(key)}={_php_urlencode(_php_scalar(value))}")


def _php_scalar(value: Any) -> str:
    if value is True:
        return "1"
    if value is False:
        return "0"
    if isinstance(value, float) and value == int(value):
        return str(int(value))
    return str(value)


def _php_urlencode(text: str) -> str:
    return quote_plus(text, safe="").replace("~", "%7E")  # PHP urlencode() also encodes "~"


def php_json(value: Any) -> str:
    """PHP json_encode() defaults: compact, \\uXXXX escapes, escaped slashes."""
    return json.dumps(value, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")


def clear_array(value: Any) -> Any:
    """WC_Retailcrm_Plugin::clearArray(): drop '' / null / empty arrays recursively; keep 0 and false."""
    if isinstance(value, dict):
        cleaned = {k: clear_array(v) for k, v in value.items()}
        return {k: v for k, v in cleaned.items() if not _cleared(v)}
    if isinstance(value, list):
        return [v for v in (clear_array(v) for v in value) if not _cleared(v)]
    return value


def _cleared(value: Any) -> bool:
    return value == "" or value is None or (isinstance(value, (dict, list)) and not value)


def remove_empty(value: Any) -> Any:
    """The history assembler's removeEmpty(): PHP empty() goes, except 0 and "0"."""
    if isinstance(value, dict):
        return {k: remove_empty(v) for k, v in value.items() if _kept(v)}
    if isinstance(value, list):
        return [remove_empty(v) for v in value if _kept(v)]
    return value


def _kept(value: Any) -> bool:
    if value is False or value is None:
        return False
    if type(value) is int or value == "0":
        return True
    return bool(value)


# =========================================================================== CRM client
@dataclass
class CrmResponse:
    """WC_Retailcrm_Response: the status and the decoded body (None when no JSON object came back).

    Transport and JSON failures get status 900, the stand-in WC_Retailcrm_Proxy returns."""

    status: int
    body: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        return self.status < 400

    def get(self, key: str, default: Any = None) -> Any:
        return self.body.get(key, default) if isinstance(self.body, dict) else default

    def has(self, key: str) -> bool:
        """offsetExists(): PHP isset, so a null value counts as missing."""
        return self.get(key) is not None


class CrmClient:
    """WC_Retailcrm_Client_V5 behind WC_Retailcrm_Proxy: PHP encoding, apiKey on every
    call, never raises; transport or JSON failures become status 900 (the proxy's stand-in)."""

    def __init__(self, api_url: str, api_key: str, http: OutgoingHttp) -> None:
        self.base = api_url if api_url.endswith("/") else api_url + "/"
        self.api_key = api_key
        self.http = http
        self.requests = 0
        self.site: str | None = None       # siteCode: known only after credentials were read
        self.calls: list[str] = []

    def get(self, path: str, params: dict[str, Any] | None = None, *, versioned: bool = True) -> CrmResponse:
        query = {"apiKey": self.api_key, **(params or {}), **TELEMETRY, "ga_option_is_active": False}
        return self._send("GET", self._url(path, versioned) + "?" + php_query(query), None)

    def post(self, path: str, fields: dict[str, Any]) -> CrmResponse:
        body = php_query({"apiKey": self.api_key, **fields})
        return self._send("POST", self._url(path, True), body)

    def credentials(self) -> CrmResponse:
        response = self.get("/credentials", versioned=False)
        sites = response.get("sitesAvailable")
        if self.site is None and isinstance(sites, list) and sites:
            self.site = str(sites[0])
        return response

    def fill_site(self, fields: dict[str, Any]) -> dict[str, Any]:
        return {**fields, "site": self.site} if self.site else fields

    def _url(self, path: str, versioned: bool) -> str:
        return self.base + ("api/v5" if versioned else "api") + path

    def _send(self, method: str, url: str, body: str | None) -> CrmResponse:
        self.requests += 1
        self.calls.append(f"{method} {url.split('?')[0]}")
        headers = {"Content-Type": "application/x-www-form-urlencoded"} if body is not None else {}
        try:
            status, content = self.http.request(method, url, body, headers)
        except OutgoingHttpError as exc:
            log.warning("connector: %s", exc)
            return CrmResponse(900)
        if not content:
            return CrmResponse(status)
        try:
            decoded = load_json(content)  # json_decode; orjson reads a 250-offer page ~3x faster
        except ValueError:
            return CrmResponse(900)
        return CrmResponse(status, decoded if isinstance(decoded, dict) else None)


# =========================================================================== results
@dataclass
class JobResult:
    job: str
    ran: bool
    ok: bool = True
    requests: int = 0
    detail: str = ""
    changed: dict[int, int | None] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"job": self.job, "ran": self.ran, "ok": self.ok, "requests": self.requests,
                "detail": self.detail, "changed": {str(k): v for k, v in self.changed.items()}}


# =========================================================================== history assembly
def filter_history(entries: list[dict[str, Any]], record: str = "order") -> list[dict[str, Any]]:
    """filterHistory(): drop our own key's changes on records that have an externalId.

    Entries without an externalId come first and are never dropped: the plugin
    checks an undefined variable there (module-behaviour.md §5.2)."""
    loose: list[dict[str, Any]] = []
    organized: dict[str, list[dict[str, Any]]] = {}
    not_ours: dict[str, set[str]] = {}
    for entry in entries:
        external_id = (entry.get(record) or {}).get("externalId")
        if external_id is None:
            loose.append(entry)
            continue
        key = str(external_id)
        chunk = organized.setdefault(key, [])
        fields = not_ours.setdefault(key, set())
        ours = entry.get("source") == "api" and bool((entry.get("apiKey") or {}).get("current"))
        if not ours:
            chunk.append(entry)
            fields.add(str(entry.get("field")))
        elif entry.get("field") in fields or entry.get("field") == "externalId":
            chunk.append(entry)
    return loose + [entry for chunk in organized.values() for entry in chunk]


def sort_created_item(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """sortCreatedItem(): the first creation entry goes first."""
    index = next((i for i, e in enumerate(entries) if e.get("created") is not None), None)
    if not index:
        return entries
    return [entries[index]] + entries[:index] + entries[index + 1:]


def _new_value(value: Any) -> Any:
    return value["code"] if isinstance(value, dict) and value.get("code") is not None else value


def assemble_orders(entries: list[dict[str, Any]]) -> dict[Any, dict[str, Any]]:
    """WC_Retailcrm_History_Assembler::assemblyOrder() for the fields stock depends on."""
    orders: dict[Any, dict[str, Any]] = {}
    for change in sort_created_item(filter_history(entries)):
        snapshot = _snapshot(change)
        crm_id = snapshot.get("id")
        main = clear_array({key: snapshot.get(key, "") for key in ("id", "externalId", "managerId", "site")})
        if crm_id in orders:
            orders[crm_id].update(main)
        else:
            orders[crm_id] = snapshot if change.get("created") else main
        target = orders[crm_id]
        field_name = str(change.get("field"))
        if field_name == "status":
            target["status"] = snapshot.get("status")
        _assemble_item(target, change, field_name)
        if change.get("payment") and field_name == "payments" and change.get("newValue") is not None:
            target.setdefault("payments", []).append(_new_value(change["payment"]))
        if field_name == "payments.status" and change.get("newValue") is not None:
            continue
        if "custom_" in field_name:
            custom = target.setdefault("customFields", {})
            custom[field_name.replace("custom_", "")] = _new_value(change.get("newValue"))
        elif field_name in ORDER_FIELDS:
            target[ORDER_FIELDS[field_name]] = _new_value(change.get("newValue"))
        if change.get("created") is not None:
            target["create"] = 1
        if change.get("deleted") is not None:
            target["deleted"] = 1
    return orders


def _snapshot(change: dict[str, Any]) -> dict[str, Any]:
    snapshot = remove_empty(copy.deepcopy(change.get("order") or {}))
    raw_items = snapshot.get("items")
    if raw_items:
        items: dict[Any, dict[str, Any]] = {}
        for item in raw_items.values() if isinstance(raw_items, dict) else raw_items:
            item = dict(item)
            if change.get("created") is not None:
                item["create"] = 1
            items[item.get("id")] = item
        snapshot["items"] = items
    return snapshot


def _assemble_item(target: dict[str, Any], change: dict[str, Any], field_name: str) -> None:
    item = change.get("item")
    if not item:
        return
    items = target.setdefault("items", {})
    item_id = item.get("id")
    items[item_id] = {**items[item_id], **item} if item_id in items else dict(item)
    if field_name == "order_product" and change.get("oldValue") is None:
        items[item_id]["create"] = True
    if field_name == "order_product" and change.get("newValue") is None:
        items[item_id]["delete"] = True
    if field_name in ITEM_FIELDS:
        items[item_id][ITEM_FIELDS[field_name]] = change.get("newValue")


def _woocommerce_item_id(item: dict[str, Any]) -> str | None:
    """getItemWoocommerceId(): woocomerceId, else the woocomerce externalId's part after "_"."""
    value = item.get("woocomerceId")
    if value is None:
        for ext in item.get("externalIds") or []:
            if isinstance(ext, dict) and ext.get("code") == ITEM_CODE:
                value = ext.get("value")
    if value in (None, "", 0):
        return None
    text = str(value)
    return text.split("_")[1] if "_" in text else text


def _item_external_id_parts(item: dict[str, Any]) -> list[str] | None:
    parts: list[str] | None = None
    for ext in item.get("externalIds") or []:
        if isinstance(ext, dict) and ext.get("code") == ITEM_CODE:
            parts = str(ext.get("value")).split("_")
    if item.get("externalIds") is None and item.get("externalId") is not None:
        parts = str(item["externalId"]).split("_")
    return parts


def _same(a: Any, b: Any) -> bool:
    """PHP loose == between ids that arrive as ints or numeric strings."""
    return a is not None and b is not None and str(a).strip() == str(b).strip()


#: The offer field a product is bound by: its SKU (bind_by_sku = yes, xmlId) or its post id.
BIND_FIELDS = {True: "xmlId", False: "externalId"}


# =========================================================================== the plugin
class Connector:
    """woo-retailcrm: cron jobs on demand, order hooks, the settings option and cursors."""

    JOBS = ("inventories", "history", "icml")

    def __init__(self, state: ShopState, settings: dict[str, Any] | None = None,
                 http: OutgoingHttp | None = None) -> None:
        self.state = state
        self.settings: dict[str, Any] = copy.deepcopy(DEFAULT_CONNECTOR_SETTINGS)
        self.settings.update(settings or {})
        self.cursors: dict[str, int | None] = {"orders_since_id": None, "customers_since_id": None}
        self.http = http or OutgoingHttp()  # keep-alive, like PHP's curl handle reuse
        self.log: deque[dict[str, Any]] = deque(maxlen=500)
        self.uploads = {"created": 0, "updated": 0, "failed": 0}
        #: The URL the shop was last reached on; permalinks use it when home_url is unset.
        self.default_home_url = "http://localhost"
        # WP-Cron's doing_cron lock: one job at a time, so the cursors never race.
        self._job_lock = threading.Lock()
        state.add_listener(self)

    # -- settings --------------------------------------------------------------
    def update_settings(self, patch: dict[str, Any]) -> dict[str, Any]:
        for key in ("stores_for_uploading", "order_methods"):
            if key in patch and not isinstance(patch[key], list):
                raise ValueError(f"{key} must be a list")
        self.settings.update(patch)
        return copy.deepcopy(self.settings)

    def reset(self) -> None:
        """Defaults again and fresh cursors; api_url stays so a running fake stays wired."""
        api_url = self.settings.get("api_url", "")
        self.settings = copy.deepcopy(DEFAULT_CONNECTOR_SETTINGS)
        self.settings["api_url"] = api_url
        self.cursors = {"orders_since_id": None, "customers_since_id": None}
        self.log.clear()
        self.uploads = {"created": 0, "updated": 0, "failed": 0}

    def snapshot(self) -> dict[str, Any]:
        return {"settings": copy.deepcopy(self.settings), "cursors": dict(self.cursors),
                "uploads": dict(self.uploads), "log": list(self.log)}

    def _yes(self, key: str) -> bool:
        return self.settings.get(key) == "yes"

    @property
    def bind_field(self) -> str:
        return BIND_FIELDS[self._yes("bind_by_sku")]

    def status_options(self) -> dict[str, str]:
        """array_flip(array_filter($settings)) without the array settings: CRM code → setting key."""
        options: dict[str, str] = {}
        for key, value in self.settings.items():
            if isinstance(value, (list, dict)) or not value or value == "0":
                continue  # array_filter() drops PHP-falsy values
            options[str(value)] = key
        return options

    def _log(self, level: str, message: str, **extra: Any) -> None:
        self.log.append({"t": self.state.clock.now(), "level": level, "message": message, **extra})
        (log.warning if level == "error" else log.debug)("connector: %s %s", message, extra or "")

    # -- the API client of the current request -------------------------------------
    def _client(self) -> CrmClient | None:
        """getApiClient(): one per PHP request; none without api_url and api_key."""
        if not self.settings.get("api_url") or not self.settings.get("api_key"):
            return None
        scope = self.state.current_scope()
        if scope is None:
            return self._new_client()
        client = scope.bag.get("crm_client")
        if client is None:
            client = scope.bag["crm_client"] = self._new_client()
        return client

    def _new_client(self) -> CrmClient:
        return CrmClient(str(self.settings["api_url"]), str(self.settings["api_key"]), self.http)

    # -- jobs ---------------------------------------------------------------------
    def run_job(self, job: str) -> JobResult:
        """do_action("retailcrm_<job>") in a request of its own."""
        runners: dict[str, Callable[[CrmClient, RequestScope], JobResult]] = {
            "inventories": self._inventories, "history": self._history, "icml": self._icml,
        }
        if job not in runners:
            raise KeyError(job)
        with self._job_lock, self.state.request() as scope:
            client = self._client()
            if client is None:
                return JobResult(job, ran=False, ok=False, detail="no API client: api_url or api_key is empty")
            if job == "inventories" and not self._yes("sync"):
                return JobResult(job, ran=False, detail="sync is off")
            sent = client.requests
            try:
                result = runners[job](client, scope)
            except PhpFatal as fatal:
                result = JobResult(job, ran=True, ok=False, detail=f"PHP fatal error: {fatal}")
            result.requests = client.requests - sent
            # What the job itself moved, so a write that a concurrent order happened to make
            # look unchanged (8 → 10 after 10 → 8) still shows.
            result.changed = {move["product_id"]: move["to"] for move in scope.stock}
            self._log("info" if result.ok else "error", f"{job}: {result.detail}")
            return result

    def inventories_run(self) -> JobResult:
        return self.run_job("inventories")

    def history_run(self) -> JobResult:
        return self.run_job("history")

    def icml_run(self) -> JobResult:
        return self.run_job("icml")

    # -- inventories (module-behaviour.md §2) ------------------------------------------
    def _inventories(self, client: CrmClient, scope: RequestScope) -> JobResult:
        stores = self.settings.get("stores_for_uploading") or []
        by_sku = self._yes("bind_by_sku")
        parent_totals: dict[int, float] = {}
        page, applied = 1, 0
        while True:
            response = client.get("/store/inventories", {"filter": {"details": True}, "page": page, "limit": 250})
            offers = response.get("offers")
            if not offers or not response.ok:
                why = f"HTTP {response.status}" if not response.ok else "no offers"
                return JobResult("inventories", ran=True, ok=response.ok,
                                 detail=f"page {page}: {why}; run ended, {applied} offers applied, "
                                        f"variable parents not updated")
            if not response.has("pagination"):
                raise PhpFatal("InvalidArgumentException: Property 'pagination' not found")
            total_pages = (response.get("pagination") or {}).get("totalPageCount")
            page += 1
            writes: list[tuple[int, Any]] = []
            try:
                for offer in offers.values() if isinstance(offers, dict) else offers:
                    applied += self._offer_write(offer, stores, by_sku, parent_totals, writes)
            finally:  # a PHP fatal on an offer leaves the page's earlier saves done
                self.state.set_stocks(writes, source="inventories")
            if not isinstance(total_pages, (int, float)) or page > total_pages:
                break
        for parent_id, quantity in parent_totals.items():
            if parent_id in self.state.products:
                self.state.set_stock(parent_id, quantity, source="inventories")
        return JobResult("inventories", ran=True, detail=f"{page - 1} page(s), {applied} offers applied, "
                                                          f"{len(parent_totals)} variable parent(s) summed")

    def _offer_write(self, offer: dict[str, Any], stores: list[str], by_sku: bool,
                     parent_totals: dict[int, float], writes: list[tuple[int, Any]]) -> int:
        """One offer of a page: the (product id, quantity) it sets goes to ``writes``; 1 if it binds."""
        quantity = offer.get("quantity")
        if stores:
            rows = offer.get("stores")
            if rows is None:
                raise PhpFatal("TypeError: count(): Argument #1 ($value) must be of type Countable|array, null given")
            if len(rows) > 1:  # the single-store quirk: one row keeps the offer total
                quantity = sum(float(r.get("quantity") or 0) for r in rows if r.get("store") in stores)
        key = offer.get(BIND_FIELDS[by_sku])
        if key is None:
            return 0
        product = self._find_product(key, by_sku)
        if product is None or product.type == "external":
            return 0
        if product.type in ("variation", "variable") and product.parent_id:
            parent_totals[product.parent_id] = parent_totals.get(product.parent_id, 0) + float(quantity or 0)
        writes.append((product.id, quantity or 0))
        return 1

    def _find_product(self, key: Any, by_sku: bool | None = None) -> Product | None:
        """retailcrm_get_wc_product(): by id, or by SKU when binding by SKU."""
        if self._yes("bind_by_sku") if by_sku is None else by_sku:
            product_id = self.state.find_product_id_by_sku(str(key))
            return self.state.products.get(product_id) if product_id else None
        return self.state.find_product(key)

    # -- icml (module-behaviour.md §3) -------------------------------------------------
    def _icml(self, client: CrmClient, scope: RequestScope) -> JobResult:
        info = client.credentials()
        self._maybe_fix_yml_url(client, info)
        content = write_catalog(self.state, bind_by_sku=self._yes("bind_by_sku"), home_url=self.home_url(),
                                generated_at=self.state.clock.crm_format())
        self.state.put_file(CATALOG_FILE, content)
        detail = f"catalog written ({content.count(b'<offer ')} offers)"
        scopes = info.get("scopes")
        if info.ok and scopes:
            if "analytics_write" not in scopes:
                return JobResult("icml", ran=True, detail=detail + "; key lacks analytics_write, no upload task")
            update = client.get("/statistic/update")
            detail += "; upload task added" if update.ok else f"; statistic/update failed (HTTP {update.status})"
        return JobResult("icml", ran=True, detail=detail)

    def _maybe_fix_yml_url(self, client: CrmClient, info: CrmResponse) -> None:
        """The rebranding fix: a single-site key's ymlUrl …/retailcrm.xml becomes …/simla.xml."""
        sites = info.get("sitesAvailable") or []
        if not (info.ok and info.get("siteAccess") == "access_selective" and len(sites) == 1):
            return
        listing = client.get("/reference/sites")
        site = (listing.get("sites") or {}).get(sites[0]) if listing.ok else None
        if isinstance(site, dict) and site.get("ymlUrl") and "simla" not in site["ymlUrl"]:
            site = {**site, "ymlUrl": site["ymlUrl"].replace("/retailcrm.xml", "/simla.xml")}
            client.post(f"/reference/sites/{site.get('code')}/edit", {"site": php_json(site)})

    def home_url(self) -> str:
        return str(self.state.settings.get("home_url") or self.default_home_url).rstrip("/")

    # -- history (module-behaviour.md §5) ------------------------------------------------
    def _history(self, client: CrmClient, scope: RequestScope) -> JobResult:
        customers = self._customers_history(client, scope)
        created, updated, entries = self._orders_history(client, scope)
        detail = (f"{customers} customer entries (not applied), {entries} order entries; "
                  f"created orders {created}, updated orders {updated}")
        return JobResult("history", ran=True, detail=detail)

    def _start_filter(self, since_id: int | None) -> dict[str, Any]:
        if since_id:
            return {"sinceId": since_id}
        start = self.state.clock.datetime() - timedelta(days=1)
        return {"startDate": start.strftime(CRM_DATETIME)}

    @staticmethod
    def _history_page(response: CrmResponse) -> list[dict[str, Any]]:
        """getHistoryData(): nothing unless successful with history and pagination."""
        if not response.ok or not response.get("history") or not response.get("pagination"):
            return []
        return [e for e in response.get("history") if isinstance(e, dict)]

    @staticmethod
    def _more_pages(response: CrmResponse) -> bool:
        pagination = response.get("pagination") or {}
        return (pagination.get("currentPage") or 0) < (pagination.get("totalPageCount") or 0)

    def _customers_history(self, client: CrmClient, scope: RequestScope) -> int:
        flt = self._start_filter(self.cursors["customers_since_id"])
        seen = 0
        for _page in range(25):  # the plugin's PAGE_LIMIT for customers
            response = client.get("/customers/history", {"limit": 100, "filter": flt})
            history = self._history_page(response)
            if not history:
                break
            flt["sinceId"] = self.cursors["customers_since_id"] = history[-1].get("id")
            scope.bag["history_run"] = True
            seen += len(history)  # WordPress customers are not modelled: nothing to apply
            if not self._more_pages(response):
                break
        return seen

    def _orders_history(self, client: CrmClient, scope: RequestScope) -> tuple[list[int], list[int], int]:
        options = self.status_options()
        flt = self._start_filter(self.cursors["orders_since_id"])
        created: list[int] = []
        updated: list[int] = []
        entries = 0
        for _page in range(HISTORY_PAGE_GUARD):
            response = client.get("/orders/history", {"limit": 100, "filter": flt})
            history = self._history_page(response)
            if not history:
                break
            # The cursor moves before the page is applied: a failure loses the page.
            flt["sinceId"] = self.cursors["orders_since_id"] = history[-1].get("id")
            entries += len(history)
            scope.bag["history_run"] = True
            for crm_order in assemble_orders(history).values():
                self._apply_crm_order(client, clear_array(crm_order), options, created, updated)
            if not self._more_pages(response):
                break
        scope.bag["history_run"] = False
        return created, updated, entries

    def _apply_crm_order(self, client: CrmClient, order: dict[str, Any], options: dict[str, str],
                         created: list[int], updated: list[int]) -> None:
        if order.get("deleted"):
            return
        try:
            if order.get("externalId") is not None:
                wc_id = self._history_update(client, order, options)
                if wc_id:
                    updated.append(wc_id)
            else:
                wc_id = self._history_create(client, order, options)
                if wc_id:
                    created.append(wc_id)
        except PhpFatal:
            raise
        except Exception as exc:  # the plugin logs and goes on with the next order
            self._log("error", f"history: order {order.get('id')} failed: {exc!r}")

    def _wc_status(self, crm_status: Any, options: dict[str, str]) -> str | None:
        return options.get(str(crm_status)) if crm_status is not None else None

    def _history_create(self, client: CrmClient, order: dict[str, Any], options: dict[str, str]) -> int | None:
        """orderCreate(): module-behaviour.md §5.5."""
        if order.get("create") is None:
            return None
        methods = self.settings.get("order_methods") or []
        if methods and order.get("orderMethod") is not None and order["orderMethod"] not in methods:
            return None
        self._complete_from_crm(client, order)
        status = self._wc_status(order.get("status"), options) or "pending"
        customer = order.get("customer")
        customer_id = (customer or {}).get("externalId") if isinstance(customer, dict) else None
        wc_order = self.state.create_order_programmatic(status=status, customer_id=_int_or_none(customer_id))
        self._fill_created_order(client, wc_order, order, options)
        for item in (order.get("items") or {}).values():
            if item.get("delete"):
                continue
            product = self._find_product((item.get("offer") or {}).get(self.bind_field))
            if product is None:
                self._log("error", f"history: CRM product not found by {self.bind_field}", offer=item.get("offer"))
                continue
            item["woocomerceId"] = self._add_item(wc_order.id, product, item)
        client.post("/orders/fix-external-ids",
                    {"orders": php_json([{"id": _int_or_zero(order.get("id")), "externalId": wc_order.id}])})
        self._edit_order(client, order, "create")
        return wc_order.id

    def _complete_from_crm(self, client: CrmClient, order: dict[str, Any]) -> None:
        response = client.get(f"/orders/{order.get('id')}", {"by": "id"})
        crm_order = response.get("order")
        if isinstance(crm_order, dict):
            for key in ("customer", "contact", "company", "delivery"):
                if crm_order.get(key) is not None:
                    order[key] = crm_order[key]

    def _fill_created_order(self, client: CrmClient, wc_order: Order, order: dict[str, Any],
                            options: dict[str, str]) -> None:
        customer = order.get("customer")
        if not isinstance(customer, dict):
            # count(null) in noRealDataInEntity(): a TypeError the plugin does not catch.
            raise PhpFatal("TypeError: count(): Argument #1 ($value) must be of type Countable|array, null given")
        if set(customer) <= {"id", "externalId", "site"}:
            response = client.get(f"/customers/{customer.get('id')}", {"by": "id"})
            if isinstance(response.get("customer"), dict):
                customer = response.get("customer")
        address = customer.get("address") or {}
        delivery_address = (order.get("delivery") or {}).get("address") or {}
        phones = customer.get("phones") or [{}]
        props: dict[str, Any] = {
            "billing": {"first_name": customer.get("firstName", ""), "last_name": customer.get("lastName", ""),
                        "email": customer.get("email", ""), "phone": (phones[0] or {}).get("number", ""),
                        **_wc_address(address)},
            "shipping": {"first_name": order.get("firstName", ""), "last_name": order.get("lastName", ""),
                         **_wc_address(delivery_address)},
            "date_created": crm_to_wc_datetime(str(order.get("createdAt"))),
            "customer_note": order.get("customerComment"),
            "payment_method": self._payment_method(order, options),
        }
        self.state.set_order_props(wc_order.id, **props)

    @staticmethod
    def _payment_method(order: dict[str, Any], options: dict[str, str]) -> str | None:
        payments = order.get("payments") or []
        payments = list(payments.values()) if isinstance(payments, dict) else payments
        if len(payments) != 1 or not isinstance(payments[0], dict):
            return None
        gateway = options.get(str(payments[0].get("type")))
        return gateway if gateway in GATEWAYS else None

    def _add_item(self, order_id: int, product: Product, item: dict[str, Any]) -> int:
        """addProductInWcOrder(): add_product() with CRM totals, no stock effect."""
        quantity = int(float(item.get("quantity") or 0))
        price = php_float(product.price)
        discount = float(item.get("discountTotal") or 0)
        return self.state.add_order_item(order_id, product.id, quantity,
                                         total=round((price - discount) * quantity, 2),
                                         subtotal=round(price * quantity, 2))

    def _history_update(self, client: CrmClient, order: dict[str, Any], options: dict[str, str]) -> int | None:
        """orderUpdate(): module-behaviour.md §5.4. Status first, through the core hooks."""
        wc_order = self.state.find_order(order.get("externalId"))
        if wc_order is None:
            return None
        status = self._wc_status(order.get("status"), options)
        if status is not None:
            self.state.update_order_status(wc_order.id, status)
        self._update_contact(wc_order, order)
        if "items" in order:
            for item in order["items"].values():
                self._update_item(wc_order, item)
        method = self._payment_method(order, options)
        if method:
            self.state.set_order_props(wc_order.id, payment_method=method)
        items = (order.get("items") or {}).values()
        if any(not item.get("externalIds") for item in items):
            self._edit_order(client, order, "update")
        return wc_order.id

    def _update_contact(self, wc_order: Order, order: dict[str, Any]) -> None:
        shipping = {k: order[c] for k, c in (("first_name", "firstName"), ("last_name", "lastName")) if c in order}
        billing = {k: order[c] for k, c in (("phone", "phone"), ("email", "email")) if c in order}
        self.state.set_order_props(wc_order.id, shipping=shipping or None, billing=billing or None,
                                   customer_note=order.get("customerComment") or None)

    def _update_item(self, wc_order: Order, item: dict[str, Any]) -> None:
        offer_key = (item.get("offer") or {}).get(self.bind_field)
        if offer_key is None:
            return
        if item.get("create"):
            product = self._find_product(offer_key)
            if product is None:
                self._log("error", f"history: CRM product not found by {self.bind_field}", offer=item.get("offer"))
                return
            parts = _item_external_id_parts(item) if item.get("externalIds") else None
            if parts and len(parts) > 1 and wc_order.item(_int_or_zero(parts[1])) is not None:
                return
            item["woocomerceId"] = self._add_item(wc_order.id, product, item)
            return
        parts = _item_external_id_parts(item)
        for line in list(wc_order.line_items):
            offer_id = (item.get("offer") or {}).get("xmlId") if self._yes("bind_by_sku") \
                else (line.variation_id or line.product_id)
            if not (_same(offer_id, offer_key) and parts and len(parts) > 1 and _same(parts[1], line.id)):
                continue
            if item.get("delete"):
                self.state.delete_order_item(wc_order.id, line.id)
            self._update_line(wc_order, line, item)

    def _update_line(self, wc_order: Order, line: LineItem, item: dict[str, Any]) -> None:
        """updateProductInWcOrder(): set_quantity / set_total, never stock."""
        if item.get("quantity"):
            quantity = int(float(item["quantity"]))
            product = self.state.products.get(line.stock_product_id)
            subtotal = round(php_float(product.price) * quantity, 2) if product else None
            self.state.update_order_item(wc_order.id, line.id, quantity=quantity, subtotal=subtotal)
        if item.get("summ"):
            self.state.update_order_item(wc_order.id, line.id, total=float(item["summ"]))

    def _edit_order(self, client: CrmClient, order: dict[str, Any], event: str) -> None:
        """editOrder(): write the Woo item ids back as item externalIds (by=id)."""
        crm_order: dict[str, Any] = {}
        data: dict[str, Any] = order
        if event == "update":
            response = client.get(f"/orders/{order.get('externalId')}", {"by": "externalId"})
            crm_order = response.get("order") if response.ok and isinstance(response.get("order"), dict) else {}
            data = crm_order
        assembled = order.get("items") or {}
        edits: dict[Any, dict[str, Any]] = {}
        for key, item in _php_items(data.get("items")):
            if item.get("delete"):
                continue
            if item.get("id") in assembled:
                wc_item_id = _woocommerce_item_id(assembled[item.get("id")])
            else:
                if not crm_order:
                    response = client.get(f"/orders/{order.get('id')}", {"by": "id"})
                    crm_order = response.get("order") if response.ok and isinstance(response.get("order"), dict) else {}
                # The plugin looks the CRM item up by id in a list indexed from 0.
                lookup = dict(_php_items(crm_order.get("items"))).get(item.get("id"))
                wc_item_id = _woocommerce_item_id(lookup) if lookup else None
            if not wc_item_id:
                continue
            edits[key] = self._item_edit(item, wc_item_id)
        if edits:
            items_json: Any = list(edits.values()) if list(edits) == list(range(len(edits))) else edits
            payload = {"id": order.get("id"), "items": clear_array(items_json)}
            client.post(f"/orders/{order.get('id')}/edit", {"order": php_json(payload), "by": "id"})

    @staticmethod
    def _item_edit(item: dict[str, Any], wc_item_id: str) -> dict[str, Any]:
        offer = item.get("offer") or {}
        edit: dict[str, Any] = {"id": item.get("id"), "offer": {"id": offer.get("id")},
                                "priceType": item.get("priceType", "")}
        ours = [{"code": ITEM_CODE, "value": f"{offer.get('externalId')}_{wc_item_id}"}]
        existing = item.get("externalIds") or []
        if not existing:
            edit["externalIds"] = ours
        elif not any(isinstance(e, dict) and e.get("code") == ITEM_CODE for e in existing):
            edit["externalIds"] = list(existing) + ours
        # With a woocomerce id already present the plugin rewrites its local copy only: none sent.
        return edit

    # -- order hooks (module-behaviour.md §4.1) -------------------------------------------
    def on_action(self, scope: RequestScope, action: str, order_id: int) -> None:
        if action == CHECKOUT_PROCESSED:
            self.order_create(order_id)  # retailcrm_process_order: at once, before payment
        elif action == NEW_ORDER:
            if not scope.bag.get("history_run"):
                scope.bag.setdefault("created_orders", {})[order_id] = order_id
        elif action == ORDER_UPDATED and not self._yes("deactivate_update_order"):
            skip = (scope.bag.get("history_run") or scope.did_action(CHECKOUT_PROCESSED)
                    or scope.did_action(NEW_ORDER))
            if not skip:
                scope.bag.setdefault("updated_orders", {})[order_id] = order_id

    def on_shutdown(self, scope: RequestScope) -> None:
        """shutdown: create_order (priority -2), then update_order (-1)."""
        created: dict[int, int] = scope.bag.get("created_orders", {})
        if scope.did_action(NEW_ORDER) and not scope.did_action(CHECKOUT_PROCESSED):
            for order_id in created:
                self.order_create(order_id)
        if not self._yes("deactivate_update_order"):
            for order_id in scope.bag.get("updated_orders", {}):
                if order_id not in created:
                    self.order_update(order_id)

    def order_create(self, order_id: int) -> bool:
        """WC_Retailcrm_Orders::orderCreate(): POST /orders/create, never retried."""
        client = self._client()
        order = self.state.orders.get(order_id)
        if client is None or order is None:
            return False
        with self.state.lock:
            payload = self.order_payload(order, update=False)
        payload["isFromCart"] = True
        response = client.post("/orders/create", client.fill_site({"order": php_json(payload)}))
        return self._upload_outcome("created", order_id, response)

    def order_update(self, order_id: int) -> bool:
        """updateOrder(): GET /orders/{id}?by=externalId, then POST /orders/{id}/edit."""
        client = self._client()
        order = self.state.orders.get(order_id)
        if client is None or order is None or order.status == "checkout-draft":
            return False
        with self.state.lock:
            payload = self.order_payload(order, update=True)
        self._crm_order_cached(client, order_id)  # processOrderCustomerInfo(update)
        response = client.post(f"/orders/{order_id}/edit",
                               client.fill_site({"order": php_json(payload), "by": "externalId"}))
        return self._upload_outcome("updated", order_id, response)

    def _crm_order_cached(self, client: CrmClient, order_id: int) -> dict[str, Any]:
        cache: dict[int, dict[str, Any]] = client.__dict__.setdefault("orders_get_cache", {})
        if order_id not in cache:
            response = client.get(f"/orders/{order_id}", {"by": "externalId"})
            if response.ok and isinstance(response.get("order"), dict):
                cache[order_id] = response.get("order")
        return cache.get(order_id, {})

    def _upload_outcome(self, kind: str, order_id: int, response: CrmResponse) -> bool:
        if response.ok:
            self.uploads[kind] += 1
            self._log("info", f"order {order_id} {kind} in CRM")
            return True
        self.uploads["failed"] += 1
        self._log("error", f"order {order_id} not {kind}: HTTP {response.status}",
                  errorMsg=response.get("errorMsg"), errors=response.get("errors"))
        return False

    # -- payload (module-behaviour.md §4.2) ------------------------------------------------
    def order_payload(self, order: Order, *, update: bool) -> dict[str, Any]:
        first, last = order.shipping.get("first_name", ""), order.shipping.get("last_name", "")
        if not first and not last:
            first, last = order.billing.get("first_name", ""), order.billing.get("last_name", "")
        data: dict[str, Any] = {
            "externalId": order.id,
            "createdAt": order.date_created.replace("T", " "),
            "firstName": first,
            "lastName": last,
            "email": order.billing.get("email", "").lower(),
            "customerComment": order.customer_note,
            "phone": order.billing.get("phone", ""),
            "countryIso": order.shipping.get("country") or self.state.settings["woocommerce_default_country"],
        }
        if self._yes("update_number"):
            data["number"] = str(order.id)
        crm_status = self.settings.get(order.status)
        if crm_status and crm_status != "not-upload":
            data["status"] = crm_status
        data["items"] = [self._item_payload(item) for item in order.line_items]
        data["discountManualAmount"] = 0
        data["discountManualPercent"] = 0
        if not update and order.total > 0:
            data["payments"] = [self._payment_payload(order)]
        return clear_array(data)

    def _item_payload(self, item: LineItem) -> dict[str, Any]:
        quantity = item.quantity or 1
        price = round(item.subtotal / quantity, 2)
        uid = item.variation_id or item.product_id
        offer: dict[str, Any] = {"externalId": uid}
        product = self.state.products.get(uid)
        if product is not None and self._yes("bind_by_sku"):
            offer = {"xmlId": product.sku}
        return {
            "offer": offer,
            "productName": item.name,
            "initialPrice": price,
            "quantity": float(item.quantity),
            "externalIds": [{"code": ITEM_CODE, "value": f"{uid}_{item.id}"}],
            "discountManualAmount": round(price - (item.total / quantity if item.total else 0), 2),
        }

    def _payment_payload(self, order: Order) -> dict[str, Any]:
        """WC_Retailcrm_Order_Payment for a new order: only when the gateway is mapped."""
        crm_type = self.settings.get(order.payment_method) if order.payment_method else None
        if not crm_type:
            return {}
        payment: dict[str, Any] = {
            "externalId": f"{order.id}-{int(self.state.clock.now() * 1e6):013x}",  # uniqid()
            "order": {"externalId": order.id},
        }
        paid = order.status in ("processing", "completed")
        if paid and not (order.status != "completed" and order.payment_method == "cod"):
            payment["status"] = "paid"
            if order.date_paid:
                payment["paidAt"] = order.date_paid.replace("T", " ")
        payment["type"] = crm_type
        return payment


# =========================================================================== helpers
def _php_items(items: Any) -> Iterable[tuple[Any, dict[str, Any]]]:
    """A PHP array of items: a JSON list is indexed from 0, an object by its keys."""
    if isinstance(items, dict):
        return [(k if not str(k).isdigit() else int(k), v) for k, v in items.items() if isinstance(v, dict)]
    if isinstance(items, list):
        return [(i, v) for i, v in enumerate(items) if isinstance(v, dict)]
    return []


def _wc_address(address: dict[str, Any]) -> dict[str, str]:
    text = str(address.get("text") or "")
    line1, _, line2 = text.partition(" || ")
    return {"address_1": line1, "address_2": line2, "city": str(address.get("city") or ""),
            "state": str(address.get("region") or ""), "postcode": str(address.get("index") or ""),
            "country": str(address.get("countryIso") or "")}


def _int_or_none(value: Any) -> int | None:
    try:
        return int(str(value))
    except (TypeError, ValueError):
        return None


def _int_or_zero(value: Any) -> int:
    return _int_or_none(value) or 0
