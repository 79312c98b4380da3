"""The fake RetailCRM's rules and state: offers and stock, orders, customers,
history, and the account settings that decide how orders move stock.

Pure Python, no HTTP: ``app.py`` parses the wire format and calls the public
methods of ``CrmState``. Every public method takes the one ``RLock``, so a
threaded server sees each API call as atomic. Entities render themselves in
the JSON shapes of API v5 (``to_json``), the way moto's models do.
"""

from __future__ import annotations

import bisect
import copy
import functools
import math
import threading
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterable, Sequence, TypeVar

from fakes.clock import CRM_DATETIME, EPOCH, Clock
from fakes.crm.catalog import IcmlOffer

Number = int | float
T = TypeVar("T")

SITE_CODE = "woo-shop"
CONNECTOR_KEY = "stocksim-connector-key"
MANAGER_KEY = "stocksim-manager-key"

SCOPES = (
    "order_read", "order_write", "store_read", "store_write",
    "reference_read", "customer_read", "customer_write", "analytics_write",
)

DEFAULT_STORE = "main"
DEFAULT_ORDER_STATUS = "new"
DEFAULT_ITEM_STATUS = "new"
AUTO_CANCEL_ITEM_STATUS = "failure"
# The order status the product-status reference names for the auto-cancel;
# the cascade itself fires on every status of the cancel group.
AUTO_CANCEL_ORDER_STATUS = "cancel-other"
CANCEL_GROUP = "cancel"

# Reference timestamps are account-setup dates; any fixed value will do.
REFERENCE_CREATED_AT = EPOCH.strftime(CRM_DATETIME)

STORES: dict[str, str] = {"main": "Main warehouse", "spb": "Saint Petersburg warehouse"}

# code: (name, ordering, process)
STATUS_GROUPS: dict[str, tuple[str, int, bool]] = {
    "new": ("Новый", 10, False),
    "approval": ("Согласование", 20, True),
    "assembling": ("Комплектация", 30, True),
    "delivery": ("Доставка", 40, True),
    "complete": ("Выполнен", 50, False),
    "cancel": ("Отменен", 60, False),
}

# code: (name, group, ordering)
STATUSES: dict[str, tuple[str, str, int]] = {
    "new": ("Новый", "new", 10),
    "client-confirmed": ("Согласовано с клиентом", "approval", 20),
    "prepayed": ("Предоплата поступила", "approval", 30),
    "assembling": ("Комплектуется", "assembling", 40),
    "send-to-delivery": ("Передан в доставку", "delivery", 50),
    "complete": ("Выполнен", "complete", 60),
    "cancel-other": ("Отменен", "cancel", 70),
    "no-call": ("Недозвон", "cancel", 80),
    "no-product": ("Нет в наличии", "cancel", 90),
}

# code: (name, ordering, cancelStatus)
PRODUCT_STATUSES: dict[str, tuple[str, int, bool]] = {
    "new": ("Добавлен", 10, False),
    "confirmed": ("Подтвержден", 20, False),
    "saled": ("Продан", 70, False),
    "failure": ("Отказ клиента", 90, True),
    "returned": ("Возврат", 130, True),
}

# Reference books the module's settings page reads; stock does not depend on them.
# code: name
ORDER_METHODS: dict[str, str] = {
    "shopping-cart": "Через корзину", "one-click": "В один клик", "phone": "По телефону",
    "landing-page": "Лендинг", "offline": "Офлайн", "messenger": "Мессенджер",
}
DELIVERY_TYPES: dict[str, str] = {
    "courier": "Доставка курьером", "self-delivery": "Самовывоз", "russian-post": "Почта России",
}
PAYMENT_TYPES: dict[str, str] = {
    "cash": "Наличные", "bank-card": "Банковская карта", "bank-transfer": "Безналичный расчет",
    "e-money": "Электронные деньги", "credit": "В кредит",
}

#: orders/upload takes at most this many orders a request (the module sends 50 a batch).
UPLOAD_LIMIT = 50

SITES: dict[str, dict[str, Any]] = {
    SITE_CODE: {"id": 1, "name": "WooCommerce shop", "url": "http://shop.invalid",
                "currency": "RUB", "countryIso": "RU"},
}


# -- errors in the API's own vocabulary -------------------------------------

class CrmError(Exception):
    """An error the API reports as ``{"success": false, "errorMsg": ...}``."""

    status = 400

    def __init__(self, message: str, errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = errors or {}

    def flat_errors(self) -> list[str]:
        """``field: message`` strings, as batch uploads list them (or the message alone)."""
        return [f"{name}: {text}" for name, text in self.errors.items()] or [self.message]


class AccessDenied(CrmError):
    status = 403

    def __init__(self, message: str = "Access denied.") -> None:
        super().__init__(message)


class NotFound(CrmError):
    status = 404

    def __init__(self) -> None:
        super().__init__("Not found")


class InputError(CrmError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("Errors in the input parameters", errors)


class EntityFormatError(CrmError):
    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("Errors in the entity format", errors)


class ParameterMissing(CrmError):
    def __init__(self, name: str) -> None:
        super().__init__(f"Parameter '{name}' is missing")


class OrderNotLoaded(CrmError):
    """orders/create and orders/edit validation failures (real wording)."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("Order is not loaded", errors)


class SettingsError(ValueError):
    """A bad admin-plane settings patch."""


def raise_if(errors: dict[str, str], error: Callable[[dict[str, str]], CrmError]) -> None:
    if errors:
        raise error(errors)


# -- API keys -----------------------------------------------------------------

@dataclass(frozen=True)
class ApiKey:
    key: str
    role: str  # "integration": a site's module; "manager": a CRM user
    sites: tuple[str, ...]
    scopes: tuple[str, ...] = SCOPES
    site_access: str = "access_selective"

    def credentials_json(self) -> dict[str, Any]:
        return {
            "credentials": ["/api/orders", "/api/orders/{externalId}/edit", "/api/store/inventories"],
            "scopes": list(self.scopes),
            "siteAccess": self.site_access,
            "sitesAvailable": list(self.sites),
        }


API_KEYS: dict[str, ApiKey] = {
    CONNECTOR_KEY: ApiKey(CONNECTOR_KEY, "integration", (SITE_CODE,)),
    MANAGER_KEY: ApiKey(MANAGER_KEY, "manager", (SITE_CODE,)),
}


# -- settings (admin plane) ---------------------------------------------------

@dataclass
class SiteSettings:
    catalog_kept_in_system: bool = True
    store: str | None = DEFAULT_STORE
    stock_editing: bool = True
    yml_url: str | None = None

    @property
    def crm_keeps_stock(self) -> bool:
        """Mode C of the behaviour model; otherwise the site keeps it (mode W)."""
        return self.catalog_kept_in_system and self.store is not None and self.stock_editing

    @property
    def stock_store(self) -> str:
        return self.store or DEFAULT_STORE


@dataclass
class Settings:
    auto_cancel_items: bool = True
    write_off_site_orders_in_site_mode: bool = True
    item_cancel_returns_stock: bool = True
    sites: dict[str, SiteSettings] = field(default_factory=lambda: {SITE_CODE: SiteSettings()})
    #: The account's warehouses, code -> name (a patch adds or renames; none is ever removed).
    stores: dict[str, str] = field(default_factory=lambda: dict(STORES))


_GLOBAL_SETTINGS: dict[str, tuple[type, ...]] = {
    "auto_cancel_items": (bool,),
    "write_off_site_orders_in_site_mode": (bool,),
    "item_cancel_returns_stock": (bool,),
}
_SITE_SETTINGS: dict[str, tuple[type, ...]] = {
    "catalog_kept_in_system": (bool,),
    "store": (str, type(None)),
    "stock_editing": (bool,),
    "yml_url": (str, type(None)),
}


def merge_settings(current: Settings, patch: Any) -> Settings:
    """A copy of ``current`` with ``patch`` applied; raises ``SettingsError``."""
    if not isinstance(patch, dict):
        raise SettingsError("settings must be a JSON object")
    merged = copy.deepcopy(current)
    sites = patch.get("sites", {})
    stores = patch.get("stores", {})
    _assign(merged, {k: v for k, v in patch.items() if k not in ("sites", "stores")}, _GLOBAL_SETTINGS, "")
    if not isinstance(stores, dict) or not all(
            isinstance(code, str) and code and isinstance(name, str) for code, name in stores.items()):
        raise SettingsError("stores must be an object of store code -> name")
    merged.stores.update(stores)
    if not isinstance(sites, dict):
        raise SettingsError("sites must be an object keyed by site code")
    for code, site_patch in sites.items():
        if code not in merged.sites or not isinstance(site_patch, dict):
            raise SettingsError(f"sites.{code}: unknown site or not an object")
        _assign(merged.sites[code], site_patch, _SITE_SETTINGS, f"sites.{code}.")
        if merged.sites[code].store not in (None, *merged.stores):
            raise SettingsError(f"sites.{code}.store: unknown store {merged.sites[code].store!r}")
    return merged


def _assign(target: object, patch: dict[str, Any], types: dict[str, tuple[type, ...]], where: str) -> None:
    for name, value in patch.items():
        if name not in types:
            raise SettingsError(f"unknown setting {where}{name}")
        if not isinstance(value, types[name]):
            raise SettingsError(f"{where}{name}: expected {' or '.join(t.__name__ for t in types[name])}")
        setattr(target, name, value)


# -- query objects ------------------------------------------------------------

@dataclass(frozen=True)
class InventoryFilter:
    ids: tuple[int, ...] = ()
    sites: tuple[str, ...] = ()
    offer_external_ids: tuple[str, ...] = ()
    offer_xml_ids: tuple[str, ...] = ()


@dataclass(frozen=True)
class OrderFilter:
    ids: tuple[int, ...] = ()
    external_ids: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    extended_statuses: tuple[str, ...] = ()


@dataclass(frozen=True)
class CustomerFilter:
    ids: tuple[int, ...] = ()
    external_ids: tuple[str, ...] = ()
    sites: tuple[str, ...] = ()
    email: str | None = None


@dataclass(frozen=True)
class HistoryFilter:
    since_id: int | None = None
    start_date: str | None = None  # "Y-m-d H:i:s"; strings of that format sort by time
    end_date: str | None = None
    entity_id: int | None = None  # orderId / customerId
    entity_external_id: str | None = None  # orderExternalId / customerExternalId

    def matches(self, change: "Change", external_id_owners: set[int] | None) -> bool:
        """``external_id_owners``: ids of the entities that now have ``entity_external_id``."""
        return (
            (self.since_id is None or change.id > self.since_id)
            and (self.start_date is None or change.created_at >= self.start_date)
            and (self.end_date is None or change.created_at <= self.end_date)
            and (self.entity_id is None or change.entity_id == self.entity_id)
            and (external_id_owners is None or change.entity_id in external_id_owners)
        )


def paginate(items: Sequence[T], limit: int, page: int) -> tuple[list[T], dict[str, int]]:
    start = (page - 1) * limit
    pagination = {"limit": limit, "totalCount": len(items), "currentPage": page,
                  "totalPageCount": math.ceil(len(items) / limit)}
    return list(items[start:start + limit]), pagination


def num(value: Number) -> Number:
    """Integer-valued numbers go out as JSON ints, as the real API sends them."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None}


# -- entities ---------------------------------------------------------------

@dataclass
class Offer:
    id: int
    site: str
    external_id: str | None
    xml_id: str | None = None
    name: str = ""
    article: str | None = None
    product_external_id: str | None = None
    price: Number | None = None

    def ref_json(self) -> dict[str, Any]:
        return _drop_none({"id": self.id, "externalId": self.external_id or None, "xmlId": self.xml_id or None})

    def item_json(self) -> dict[str, Any]:
        return {**self.ref_json(), **_drop_none({"name": self.name, "article": self.article})}


@dataclass
class StockRow:
    available: Number = 0
    purchase_price: Number = 0


@dataclass
class Customer:
    id: int
    site: str
    created_at: str
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phones: list[str] = field(default_factory=list)

    def compact_json(self) -> dict[str, Any]:
        return _drop_none({"id": self.id, "externalId": self.external_id, "site": self.site})

    def to_json(self) -> dict[str, Any]:
        return {
            "type": "customer", **self.compact_json(), "createdAt": self.created_at,
            "vip": False, "bad": False, "contragent": {"contragentType": "individual"},
            **_drop_none({"firstName": self.first_name, "lastName": self.last_name, "email": self.email}),
            "phones": [{"number": phone} for phone in self.phones],
        }


@dataclass
class Item:
    id: int
    offer: Offer
    quantity: Number
    status: str
    initial_price: Number
    product_name: str
    created_at: str
    external_ids: list[dict[str, str]] = field(default_factory=list)
    held: Number = 0  # written off at the order's shipment store

    @property
    def cancelled(self) -> bool:
        return PRODUCT_STATUSES[self.status][2]

    def ref_json(self) -> dict[str, Any]:
        return {"id": self.id, "offer": self.offer.ref_json()}

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id, "quantity": num(self.quantity), "status": self.status,
            "initialPrice": num(self.initial_price), "discountTotal": 0, "productName": self.product_name,
            "offer": self.offer.item_json(), "createdAt": self.created_at, "properties": [],
        }
        if self.external_ids:
            data["externalIds"] = [dict(e) for e in self.external_ids]
        return data


@dataclass
class Order:
    id: int
    site: str
    number: str
    status: str
    created_at: str
    status_updated_at: str
    customer: Customer
    shipment_store: str
    tracked: bool  # decided once, at creation: does this order move CRM stock?
    external_id: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    phone: str | None = None
    order_method: str | None = None
    items: list[Item] = field(default_factory=list)
    payments: dict[int, dict[str, Any]] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)  # fields stored verbatim, e.g. delivery

    def compact_json(self) -> dict[str, Any]:
        return _drop_none({"id": self.id, "externalId": self.external_id, "site": self.site,
                           "status": self.status})

    def to_json(self) -> dict[str, Any]:
        summ = sum(i.initial_price * i.quantity for i in self.items if not i.cancelled)
        delivery = self.extra.get("delivery")
        cost = delivery.get("cost") if isinstance(delivery, dict) else None
        total = summ + (_to_number(cost) if _is_number(cost) else 0)
        # Every piece below is built fresh but the fields stored verbatim (extra, payments): only
        # those are copied, so no caller can change the stored order (a whole deepcopy was half
        # the cost of an orders/create).
        return {
            **copy.deepcopy(self.extra),
            **_drop_none({
                "id": self.id, "number": self.number, "externalId": self.external_id, "site": self.site,
                "status": self.status, "orderMethod": self.order_method, "createdAt": self.created_at,
                "statusUpdatedAt": self.status_updated_at, "firstName": self.first_name,
                "lastName": self.last_name, "email": self.email, "phone": self.phone,
            }),
            "customer": self.customer.to_json(), "shipmentStore": self.shipment_store,
            "shipped": False, "items": [item.to_json() for item in self.items],
            "payments": {str(pid): copy.deepcopy(payment) for pid, payment in self.payments.items()},
            "summ": num(summ), "totalSumm": num(total),
        }


@dataclass(frozen=True)
class Actor:
    """Who made a change: ``api`` with the key used, or ``code`` (a cascade)."""

    source: str
    key: str | None = None


CODE = Actor("code")


@dataclass(frozen=True)
class Change:
    """One history record; ``entity`` is the order/customer JSON it carries."""

    id: int
    created_at: str
    actor: Actor
    field: str
    old: Any
    new: Any
    entity: dict[str, Any]
    entity_id: int
    item: dict[str, Any] | None = None
    created: bool = False

    def to_json(self, entity_name: str, reader: str) -> dict[str, Any]:
        data: dict[str, Any] = {"id": self.id, "createdAt": self.created_at}
        if self.created:
            data["created"] = True
        data["source"] = self.actor.source
        if self.actor.source == "api":
            data["apiKey"] = {"current": self.actor.key == reader}
        data.update({"field": self.field, "oldValue": self.old, "newValue": self.new, entity_name: self.entity})
        if self.item is not None:
            data["item"] = self.item
        return copy.deepcopy(data)


@dataclass
class OrderUpload:
    """What orders/upload did: created orders, refused ones and why."""

    uploaded: list[dict[str, Any]] = field(default_factory=list)  # {id, externalId?}
    failed: list[dict[str, Any]] = field(default_factory=list)  # {externalId?}
    errors: list[str] = field(default_factory=list)


@dataclass
class ItemSpec:
    """One validated entry of an order's ``items``."""

    existing: Item | None
    offer: Offer | None
    quantity: Number | None
    status: str | None
    initial_price: Number | None
    product_name: str | None
    external_ids: list[dict[str, str]] | None


# -- the state ----------------------------------------------------------------

Visible = TypeVar("Visible", Order, Customer)

def _locked(method: Callable[..., T]) -> Callable[..., T]:
    @functools.wraps(method)
    def wrapper(self: "CrmState", *args: Any, **kwargs: Any) -> T:
        with self._lock:
            return method(self, *args, **kwargs)
    return wrapper


class CrmState:
    def __init__(self, clock: Clock | None = None) -> None:
        self.clock = clock or Clock()
        self._lock = threading.RLock()
        self._defaults = Settings()
        self.reset()

    @_locked
    def reset(self) -> None:
        self._settings = copy.deepcopy(self._defaults)
        self._offers: dict[int, Offer] = {}
        # Lookups a 10,000-offer catalog needs in O(1): offers by externalId and by xmlId
        # (each list in id order, as a scan of ``_offers`` finds them), and the newest-first
        # listing the inventories pages slice, per set of sites (dropped when an offer is added).
        self._offers_by: dict[str, dict[str, list[Offer]]] = {"external_id": {}, "xml_id": {}}
        self._newest_first: dict[tuple[str, ...], list[Offer]] = {}
        self._stock: dict[tuple[int, str], StockRow] = {}
        # Each offer's inventories entry as last rendered, by (offer id, details): a page of 250
        # is read ~100 times a day by the connector and changes only where stock moved. Dropped
        # for an offer when one of its rows is written (``_row``) or the offer changes, and all
        # at once when the settings change (the warehouse list orders the entries' rows).
        self._inventory_cache: dict[tuple[int, bool], dict[str, Any]] = {}
        self._orders: dict[int, Order] = {}
        # Orders by externalId, each list in id order as a scan of ``_orders`` finds them: the
        # module looks one up on every upload and history run, and a month holds 60,000 orders.
        self._orders_by_external_id: dict[str, list[Order]] = {}
        self._customers: dict[int, Customer] = {}
        self._order_history: list[Change] = []
        self._customer_history: list[Change] = []
        self._catalog_updated_at: dict[str, str] = {}
        self._ids: dict[str, int] = {}

    def _next_id(self, sequence: str) -> int:
        self._ids[sequence] = self._ids.get(sequence, 0) + 1
        return self._ids[sequence]

    def _now(self) -> str:
        return self.clock.crm_format()

    # -- keys and references -------------------------------------------------
    def api_key(self, key: str) -> ApiKey | None:
        return API_KEYS.get(key)

    def _key(self, key: str) -> ApiKey:
        api_key = API_KEYS.get(key)
        if api_key is None:
            raise AccessDenied('Wrong "apiKey" value.')
        return api_key

    def resolve_site(self, key: str, site: str | None) -> str:
        """The site a write applies to: the given one, or the key's only site."""
        sites = self._key(key).sites
        if site is None:
            if len(sites) != 1:
                raise ParameterMissing("site")
            return sites[0]
        if site not in sites:
            raise AccessDenied()
        return site

    def _checked_site(self, key: str, site: str | None) -> str | None:
        """A lookup's optional ``site``: 403 when the key may not use it."""
        return None if site is None else self.resolve_site(key, site)

    def _visible(self, key: str, entity: Visible | None) -> Visible:
        """The order or customer found, if it is on a site the key sees; else 404."""
        if entity is None or entity.site not in self._key(key).sites:
            raise NotFound()
        return entity

    def check_sites(self, key: str, sites: Iterable[str]) -> None:
        unknown = [s for s in sites if s not in self._key(key).sites]
        if unknown:
            raise InputError({"children[sites]": f"Site {unknown[0]!r} is not available."})

    @_locked
    def sites_json(self, key: str) -> dict[str, Any]:
        return {code: self._site_json(code) for code in self._key(key).sites}

    def _site_json(self, code: str) -> dict[str, Any]:
        site = self._settings.sites[code]
        return _drop_none({
            **SITES[code], "code": code, "description": "", "defaultForCrm": False,
            "ymlUrl": site.yml_url, "loadFromYml": not site.catalog_kept_in_system,
            "catalogUpdatedAt": self._catalog_updated_at.get(code),
            "catalogId": "1", "isCatalogMainSite": True, "ordering": 10, "isDemo": False,
        })

    @_locked
    def stores_json(self) -> list[dict[str, Any]]:
        return [{"code": code, "name": name, "active": True, "type": "store-type-warehouse",
                 "inventoryType": "integer"} for code, name in self._settings.stores.items()]

    @staticmethod
    def statuses_json() -> dict[str, dict[str, Any]]:
        return {code: {"name": name, "code": code, "active": True, "ordering": ordering, "group": group}
                for code, (name, group, ordering) in STATUSES.items()}

    @staticmethod
    def status_groups_json() -> dict[str, dict[str, Any]]:
        return {code: {"name": name, "code": code, "active": True, "ordering": ordering, "process": process,
                       "statuses": [s for s, (_, group, _) in STATUSES.items() if group == code]}
                for code, (name, ordering, process) in STATUS_GROUPS.items()}

    @staticmethod
    def order_methods_json() -> dict[str, dict[str, Any]]:
        return _reference_json(ORDER_METHODS)

    @staticmethod
    def delivery_types_json() -> dict[str, dict[str, Any]]:
        return _reference_json(DELIVERY_TYPES)

    @staticmethod
    def payment_types_json() -> dict[str, dict[str, Any]]:
        return _reference_json(PAYMENT_TYPES)

    @_locked
    def product_statuses_json(self) -> dict[str, dict[str, Any]]:
        result = {code: {"code": code, "name": name, "active": True, "ordering": ordering,
                         "createdAt": REFERENCE_CREATED_AT, "cancelStatus": cancel}
                  for code, (name, ordering, cancel) in PRODUCT_STATUSES.items()}
        if self._settings.auto_cancel_items:
            result[AUTO_CANCEL_ITEM_STATUS]["orderStatusByProductStatus"] = AUTO_CANCEL_ORDER_STATUS
        return result

    # -- settings ------------------------------------------------------------
    @_locked
    def settings(self) -> dict[str, Any]:
        return asdict(self._settings)

    @_locked
    def update_settings(self, patch: Any) -> dict[str, Any]:
        self._settings = merge_settings(self._settings, patch)
        self._inventory_cache.clear()
        return asdict(self._settings)

    @_locked
    def set_defaults(self, patch: Any) -> dict[str, Any]:
        """Settings ``reset()`` returns to from now on, applied at once too: how a
        standalone fake keeps its wiring (a site's ``yml_url``) across resets."""
        self._defaults = merge_settings(self._defaults, patch)
        return self.update_settings(patch)

    @_locked
    def catalog_sites(self) -> dict[str, str]:
        """Site code -> ICML URL, for every site that has one."""
        return {code: s.yml_url for code, s in self._settings.sites.items() if s.yml_url}

    # -- offers and stock ----------------------------------------------------
    @_locked
    def catalog_import(self, site: str, offers: Sequence[IcmlOffer]) -> dict[str, Any]:
        """Load a site's ICML offers; quantities only where the site keeps the stock."""
        if site not in self._settings.sites:
            raise NotFound()
        settings = self._settings.sites[site]
        apply_quantities = not settings.crm_keeps_stock
        created = 0
        for icml in offers:
            offer, is_new = self._upsert_offer(site, icml)
            created += is_new
            if apply_quantities and icml.quantity is not None:
                self._row(offer.id, settings.stock_store).available = icml.quantity
        self._catalog_updated_at[site] = self._now()
        return {"site": site, "offers": len(offers), "created": created, "quantities_applied": apply_quantities}

    def _upsert_offer(self, site: str, icml: IcmlOffer) -> tuple[Offer, bool]:
        offer = self._offer_by("externalId", icml.id, site)
        is_new = offer is None
        if offer is not None:
            self._forget_inventory(offer.id)
        if offer is None:
            offer = Offer(id=self._next_id("offer"), site=site, external_id=icml.id)
            self._offers[offer.id] = offer
            self._index_offer("external_id", offer, None)
            self._newest_first.clear()
        if is_new or offer.xml_id != icml.xml_id:
            old_xml_id = None if is_new else offer.xml_id
            offer.xml_id = icml.xml_id
            self._index_offer("xml_id", offer, old_xml_id)
        offer.name = icml.name
        offer.article = icml.article
        offer.product_external_id = icml.product_id
        offer.price = icml.price
        return offer, is_new

    def _offer_by(self, kind: str, value: Any, site: str | None) -> Offer | None:
        if kind == "id":
            offer = self._offers.get(int(value)) if str(value).isdigit() else None
            return offer if offer is not None and site in (None, offer.site) else None
        attribute = "external_id" if kind == "externalId" else "xml_id"
        for offer in self._offers_by[attribute].get(str(value), ()):
            if site in (None, offer.site):
                return offer
        return None

    def _index_offer(self, attribute: str, offer: Offer, old_value: str | None) -> None:
        """Keep ``_offers_by`` in step with an offer's externalId or xmlId."""
        _reindex(self._offers_by[attribute], offer, old_value, getattr(offer, attribute))

    def _find_offer(self, ref: Any, site: str | None) -> Offer | None:
        """Resolve ``{"id"}``, ``{"externalId"}`` or ``{"xmlId"}``."""
        if not isinstance(ref, dict):
            return None
        for kind in ("id", "externalId", "xmlId"):
            if ref.get(kind) not in (None, ""):
                return self._offer_by(kind, ref[kind], site)
        return None

    def _row(self, offer_id: int, store: str) -> StockRow:
        """A row to write: every stock write comes through here, so the rendered entry goes."""
        self._forget_inventory(offer_id)
        return self._stock.setdefault((offer_id, store), StockRow())

    def _forget_inventory(self, offer_id: int) -> None:
        cache = self._inventory_cache
        cache.pop((offer_id, True), None)
        cache.pop((offer_id, False), None)

    @_locked
    def stock(self, offer_id: int, store: str = DEFAULT_STORE) -> Number:
        row = self._stock.get((offer_id, store))
        return num(row.available) if row else 0

    @_locked
    def offer_id(self, external_id: str, site: str = SITE_CODE) -> int:
        offer = self._offer_by("externalId", external_id, site)
        if offer is None:
            raise NotFound()
        return offer.id

    @_locked
    def inventories(self, key: str, flt: InventoryFilter, details: bool,
                    limit: int, page: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
        self.check_sites(key, flt.sites)
        sites = flt.sites or self._key(key).sites
        listing = self._newest_first.get(tuple(sites))
        if listing is None:
            listing = self._newest_first[tuple(sites)] = [
                o for o in sorted(self._offers.values(), key=lambda o: -o.id) if o.site in sites]
        unfiltered = not (flt.ids or flt.offer_external_ids or flt.offer_xml_ids)
        offers = listing if unfiltered else [o for o in listing if self._inventory_match(o, flt)]
        page_offers, pagination = paginate(offers, limit, page)
        return [self._inventory_json(o, details) for o in page_offers], pagination

    @staticmethod
    def _inventory_match(offer: Offer, flt: InventoryFilter) -> bool:
        return ((not flt.ids or offer.id in flt.ids)
                and (not flt.offer_external_ids or offer.external_id in flt.offer_external_ids)
                and (not flt.offer_xml_ids or offer.xml_id in flt.offer_xml_ids))

    def _inventory_json(self, offer: Offer, details: bool) -> dict[str, Any]:
        """Shared with the cache: the caller serialises it and never changes it."""
        data = self._inventory_cache.get((offer.id, details))
        if data is None:
            data = self._inventory_cache[(offer.id, details)] = self._render_inventory(offer, details)
        return data

    def _render_inventory(self, offer: Offer, details: bool) -> dict[str, Any]:
        rows = [(store, self._stock[(offer.id, store)]) for store in self._settings.stores
                if (offer.id, store) in self._stock]
        data = {**offer.ref_json(), "site": offer.site, "quantity": num(sum(r.available for _, r in rows))}
        if details:
            data["stores"] = [{"store": store, "quantity": num(r.available), "purchasePrice": num(r.purchase_price)}
                              for store, r in rows]
        return data

    @_locked
    def upload_inventories(self, key: str, entries: Any, site: str | None) -> tuple[int, list[dict[str, Any]]]:
        """Absolute per-store quantities (an ERP's view); no history, no orders touched."""
        if site is not None:
            self.resolve_site(key, site)
        if not isinstance(entries, list):
            raise EntityFormatError({"offers": "This value should be of type array."})
        errors: dict[str, str] = {}
        for i, entry in enumerate(entries):
            self._validate_upload_entry(f"offers[{i}]", entry, errors)
        raise_if(errors, EntityFormatError)
        processed, not_found = 0, []
        for entry in entries:
            offer = self._find_offer(entry, site)
            if offer is None:
                not_found.append({k: entry[k] for k in ("id", "externalId", "xmlId") if k in entry})
                continue
            processed += 1
            for store in entry["stores"]:
                self._set_row(offer.id, store)
        return processed, not_found

    def _validate_upload_entry(self, where: str, entry: Any, errors: dict[str, str]) -> None:
        if not isinstance(entry, dict) or not isinstance(entry.get("stores"), list):
            errors[f"{where}.stores"] = "This value should be of type array."
            return
        for j, store in enumerate(entry["stores"]):
            path = f"{where}.stores[{j}]"
            if not isinstance(store, dict) or not _known(store.get("code"), self._settings.stores):
                errors[f"{path}.code"] = "Store with this code does not exist."
            elif not _is_number(store.get("available", 0)) or not _is_number(store.get("purchasePrice", 0)):
                errors[f"{path}.available"] = "This value should be a number."

    def _set_row(self, offer_id: int, store: dict[str, Any]) -> None:
        row = self._row(offer_id, store["code"])
        if "available" in store:
            row.available = _to_number(store["available"])
        if "purchasePrice" in store:
            row.purchase_price = _to_number(store["purchasePrice"])

    # -- customers -------------------------------------------------------------
    @_locked
    def create_customer(self, key: str, payload: Any, site: str | None) -> dict[str, Any]:
        site = self.resolve_site(key, site)
        texts, phones = _customer_input(payload, partial=False)
        if texts["externalId"] is not None and self._customer_by("externalId", texts["externalId"], site):
            raise CrmError("Customer already exists.")
        customer = self._new_customer(Actor("api", key), site, texts, phones or [])
        return customer.to_json()

    @_locked
    def edit_customer(self, key: str, uid: Any, payload: Any, by: str = "externalId",
                      site: str | None = None) -> dict[str, Any]:
        """A partial update: only the fields sent change, each change a history record."""
        customer = self._visible_customer(key, uid, by, site)
        texts, phones = _customer_input(payload, partial=True)
        new_external_id = texts.get("externalId")
        clash = self._customer_by("externalId", new_external_id, customer.site) if new_external_id else None
        if clash is not None and clash is not customer:
            raise EntityFormatError({"externalId": "Customer with this externalId already exists."})
        actor = Actor("api", key)
        for name, attribute, history_field in _CUSTOMER_SCALARS:
            if name in texts:
                self._change_customer(customer, actor, attribute, history_field, texts[name])
        if phones is not None:
            self._change_customer(customer, actor, "phones", "phones", phones)
        return customer.to_json()

    def _change_customer(self, customer: Customer, actor: Actor, attribute: str, history_field: str,
                         new: Any) -> None:
        old = getattr(customer, attribute)
        if new == old:
            return  # a no-op edit leaves no history
        setattr(customer, attribute, new)
        self._record_customer(customer, actor, history_field, _customer_history_value(history_field, old),
                              _customer_history_value(history_field, new))

    def _new_customer(self, actor: Actor, site: str, texts: dict[str, str | None], phones: list[str]) -> Customer:
        customer = Customer(id=self._next_id("customer"), site=site, created_at=self._now(),
                            external_id=texts.get("externalId"), first_name=texts["firstName"],
                            last_name=texts["lastName"], email=texts["email"], phones=phones)
        self._customers[customer.id] = customer
        # A customer's creation record carries field "id" and the full customer.
        self._record_customer(customer, actor, "id", None, customer.id, created=True)
        return customer

    def _record_customer(self, customer: Customer, actor: Actor, field_name: str, old: Any, new: Any,
                         created: bool = False) -> None:
        self._customer_history.append(Change(
            id=self._next_id("customer_history"), created_at=self._now(), actor=actor, field=field_name,
            old=old, new=new, entity=customer.to_json() if created else customer.compact_json(),
            entity_id=customer.id, created=created))

    def _customer_by(self, by: str, uid: Any, site: str | None) -> Customer | None:
        for customer in self._customers.values():
            value = customer.id if by == "id" else customer.external_id
            if str(value) == str(uid) and site in (None, customer.site):
                return customer
        return None

    def _visible_customer(self, key: str, uid: Any, by: str, site: str | None) -> Customer:
        return self._visible(key, self._customer_by(by, uid, self._checked_site(key, site)))

    @_locked
    def get_customer(self, key: str, uid: str, by: str, site: str | None) -> dict[str, Any]:
        return self._visible_customer(key, uid, by, site).to_json()

    @_locked
    def customers(self, key: str, flt: CustomerFilter, limit: int,
                  page: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
        self.check_sites(key, flt.sites)
        sites = flt.sites or self._key(key).sites
        found = [c for c in sorted(self._customers.values(), key=lambda c: -c.id)
                 if c.site in sites and (not flt.ids or c.id in flt.ids)
                 and (not flt.external_ids or c.external_id in flt.external_ids)
                 and (flt.email is None or c.email == flt.email)]
        page_customers, pagination = paginate(found, limit, page)
        return [c.to_json() for c in page_customers], pagination

    @_locked
    def customer_history(self, key: str, flt: HistoryFilter, limit: int,
                         page: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
        owners = None if flt.entity_external_id is None else {
            c.id for c in self._customers.values() if c.external_id == flt.entity_external_id}
        return self._history(self._customer_history, "customer", key, flt, owners, limit, page)

    def _history(self, changes: list[Change], entity_name: str, key: str, flt: HistoryFilter,
                 owners: set[int] | None, limit: int, page: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
        sites = self._key(key).sites
        # The count is over the filtered records: the module pages with an
        # advancing sinceId and always asks for page 1. Records are kept in id order, so a
        # sinceId skips the older ones without reading them.
        start = 0 if flt.since_id is None else bisect.bisect_right(changes, flt.since_id, key=lambda c: c.id)
        found = [c for c in changes[start:] if flt.matches(c, owners) and c.entity.get("site") in sites]
        page_changes, pagination = paginate(found, limit, page)
        return [c.to_json(entity_name, key) for c in page_changes], pagination

    # -- orders: reads -----------------------------------------------------------
    def _order_by(self, by: str, uid: Any, site: str | None) -> Order | None:
        if by == "id":
            order = self._orders.get(int(uid)) if str(uid).isdigit() else None
            return order if order is not None and site in (None, order.site) else None
        for order in self._orders_by_external_id.get(str(uid), ()):
            if site in (None, order.site):
                return order
        return None

    def _set_order_external_id(self, order: Order, external_id: str | None) -> None:
        """Every change of an order's externalId comes through here, so the index stays true."""
        old, order.external_id = order.external_id, external_id
        _reindex(self._orders_by_external_id, order, old, external_id)

    def _visible_order(self, key: str, uid: Any, by: str, site: str | None) -> Order:
        return self._visible(key, self._order_by(by, uid, self._checked_site(key, site)))

    @_locked
    def get_order(self, key: str, uid: Any, by: str = "externalId", site: str | None = None) -> dict[str, Any]:
        return self._visible_order(key, uid, by, site).to_json()

    @_locked
    def orders(self, key: str, flt: OrderFilter, limit: int,
               page: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
        self.check_sites(key, flt.sites)
        sites = flt.sites or self._key(key).sites
        found = [o for o in sorted(self._orders.values(), key=lambda o: -o.id)
                 if o.site in sites and self._order_match(o, flt)]
        page_orders, pagination = paginate(found, limit, page)
        return [o.to_json() for o in page_orders], pagination

    @staticmethod
    def _order_match(order: Order, flt: OrderFilter) -> bool:
        statuses = flt.extended_statuses
        return ((not flt.ids or order.id in flt.ids)
                and (not flt.external_ids or order.external_id in flt.external_ids)
                and (not statuses or order.status in statuses or STATUSES[order.status][1] in statuses))

    @_locked
    def order_statuses(self, key: str, ids: Sequence[int], external_ids: Sequence[str]) -> list[dict[str, Any]]:
        """The status and status group of each order named by id or externalId."""
        sites = self._key(key).sites
        found = [o for o in sorted(self._orders.values(), key=lambda o: o.id) if o.site in sites
                 and (o.id in ids or (o.external_id is not None and o.external_id in external_ids))]
        return [_drop_none({"id": o.id, "externalId": o.external_id, "status": o.status,
                            "group": STATUSES[o.status][1]}) for o in found]

    @_locked
    def order_history(self, key: str, flt: HistoryFilter, limit: int,
                      page: int) -> tuple[list[dict[str, Any]], dict[str, int]]:
        owners = None if flt.entity_external_id is None else {
            o.id for o in self._orders.values() if o.external_id == flt.entity_external_id}
        return self._history(self._order_history, "order", key, flt, owners, limit, page)

    # -- orders: writes ------------------------------------------------------------
    @_locked
    def create_order(self, key: str, payload: Any, site: str | None = None) -> dict[str, Any]:
        return self._create_order(key, payload, self.resolve_site(key, site)).to_json()

    def _create_order(self, key: str, payload: Any, site: str) -> Order:
        if not isinstance(payload, dict):
            raise EntityFormatError({"order": "This value should be of type object."})
        actor = Actor("api", key)
        order = self._build_order(key, payload, site, actor)
        self._orders[order.id] = order
        self._set_order_external_id(order, order.external_id)
        self._record(order, actor, "status", None, {"code": order.status}, created=True)
        self._cascade_status(order)
        self._sync_holds(order)
        return order

    @_locked
    def upload_orders(self, key: str, entries: Any, site: str | None = None) -> OrderUpload:
        """Create each order as orders/create would; one failure does not stop the others."""
        site = self.resolve_site(key, site)
        if not isinstance(entries, list):
            raise EntityFormatError({"orders": "This value should be of type array."})
        if not 1 <= len(entries) <= UPLOAD_LIMIT:
            raise EntityFormatError({"orders": f"This collection should contain 1 to {UPLOAD_LIMIT} elements."})
        result = OrderUpload()
        for entry in entries:
            try:
                order = self._create_order(key, entry, site)
            except CrmError as exc:
                external_id = entry.get("externalId") if isinstance(entry, dict) else None
                result.failed.append({} if external_id is None else {"externalId": str(external_id)})
                result.errors.extend(exc.flat_errors())
            else:
                result.uploaded.append(_drop_none({"id": order.id, "externalId": order.external_id}))
        return result

    def _build_order(self, key: str, payload: dict[str, Any], site: str, actor: Actor) -> Order:
        errors: dict[str, str] = {}
        texts = _texts(payload, _ORDER_TEXT_FIELDS, errors)
        external_id = texts["externalId"]
        if external_id is not None and self._order_by("externalId", external_id, site):
            raise CrmError("Order already exists.")
        status = self._status_field(payload, DEFAULT_ORDER_STATUS, errors)
        store = self._store_field(payload, self._settings.sites[site].stock_store, errors)
        created_at = self._datetime_field(payload, "createdAt", errors)
        customer = self._customer_ref(payload.get("customer"), site, errors)
        specs = self._item_specs(payload.get("items", []), site, None, errors)
        raise_if(errors, OrderNotLoaded)
        order_id = self._next_id("order")
        now = self._now()
        order = Order(
            id=order_id, site=site, number=texts["number"] or f"{order_id}C",
            status=status, created_at=created_at or now, status_updated_at=now,
            customer=customer or self._customer_from_order(actor, site, texts),
            shipment_store=store, tracked=self._tracks_stock(key, site), external_id=external_id,
            first_name=texts["firstName"], last_name=texts["lastName"], email=texts["email"],
            phone=texts["phone"], order_method=texts["orderMethod"],
            extra={k: v for k, v in payload.items() if k not in _ORDER_FIELDS},
        )
        order.items = [self._new_item(spec) for spec in specs]
        order.payments = self._payments(payload.get("payments"))
        return order

    def _tracks_stock(self, key: str, site: str) -> bool:
        """Mode C always; mode W only for orders the site's own module uploads."""
        if self._settings.sites[site].crm_keeps_stock:
            return True
        # resolve_site() has already checked that the key serves this site.
        uploaded_by_site = self._key(key).role == "integration"
        return uploaded_by_site and self._settings.write_off_site_orders_in_site_mode

    def _customer_ref(self, ref: Any, site: str, errors: dict[str, str]) -> Customer | None:
        if not isinstance(ref, dict) or not (ref.get("id") or ref.get("externalId")):
            return None
        by = "id" if ref.get("id") else "externalId"
        customer = self._customer_by(by, ref[by], site)
        if customer is None:
            errors[f"customer.{by}"] = f"Customer with {by}={ref[by]} not found."
        return customer

    def _customer_from_order(self, actor: Actor, site: str, texts: dict[str, str | None]) -> Customer:
        contact = {name: texts[name] for name in ("firstName", "lastName", "email")}
        return self._new_customer(actor, site, contact, [texts["phone"]] if texts["phone"] else [])

    def _payments(self, raw: Any) -> dict[int, dict[str, Any]]:
        payments: dict[int, dict[str, Any]] = {}
        for entry in raw if isinstance(raw, list) else []:
            if isinstance(entry, dict):
                pid = self._next_id("payment")
                payments[pid] = {"id": pid, **{k: v for k, v in entry.items() if k != "id"}}
        return payments

    def _new_item(self, spec: ItemSpec) -> Item:
        assert spec.offer is not None
        return Item(
            id=self._next_id("item"), offer=spec.offer, quantity=spec.quantity or 1,
            status=spec.status or DEFAULT_ITEM_STATUS,
            initial_price=spec.initial_price if spec.initial_price is not None else (spec.offer.price or 0),
            product_name=spec.product_name or spec.offer.name, created_at=self._now(),
            external_ids=spec.external_ids or [],
        )

    @_locked
    def edit_order(self, key: str, uid: Any, payload: Any, by: str = "externalId",
                   site: str | None = None) -> dict[str, Any]:
        order = self._visible_order(key, uid, by, site)
        if not isinstance(payload, dict):
            raise EntityFormatError({"order": "This value should be of type object."})
        texts, specs = self._validate_edit(order, payload)
        actor = Actor("api", key)
        self._edit_fields(order, texts, payload.get("shipmentStore"), actor)
        if specs is not None:
            self._replace_items(order, specs, actor)
        if payload.get("status"):
            self._change_status(order, payload["status"], actor)
        order.extra.update({k: v for k, v in payload.items() if k not in _ORDER_FIELDS})
        self._sync_holds(order)
        return order.to_json()

    def _validate_edit(self, order: Order,
                       payload: dict[str, Any]) -> tuple[dict[str, str | None], list[ItemSpec] | None]:
        """The edit's text fields (only those sent) and item list, or ``OrderNotLoaded``."""
        errors: dict[str, str] = {}
        if "status" in payload:
            self._status_field(payload, order.status, errors)
        if "shipmentStore" in payload:
            self._store_field(payload, order.shipment_store, errors)
        texts = _texts(payload, tuple(name for name in _ORDER_TEXT_FIELDS if name in payload), errors)
        new_external_id = texts.get("externalId")
        if new_external_id not in (None, order.external_id) and self._order_by("externalId", new_external_id,
                                                                                order.site):
            errors["externalId"] = "Order with this externalId already exists."
        specs = self._item_specs(payload["items"], order.site, order, errors) if "items" in payload else None
        raise_if(errors, OrderNotLoaded)
        return texts, specs

    def _edit_fields(self, order: Order, texts: dict[str, str | None], store: str | None, actor: Actor) -> None:
        for name, attribute, history_field in _SCALAR_FIELDS:
            new = texts.get(name)
            # The order number cannot be cleared; every other field can.
            if name in texts and new != getattr(order, attribute) and (new or attribute != "number"):
                old = getattr(order, attribute)
                if attribute == "external_id":
                    self._set_order_external_id(order, new)
                else:
                    setattr(order, attribute, new)
                self._record(order, actor, history_field, _history_value(history_field, old),
                             _history_value(history_field, new))
        if store and store != order.shipment_store:
            old_store = order.shipment_store
            self._move_holds(order, store)
            self._record(order, actor, "shipment_store", {"code": old_store}, {"code": order.shipment_store})

    @_locked
    def fix_external_ids(self, key: str, entries: Any) -> None:
        if not isinstance(entries, list):
            raise EntityFormatError({"orders": "This value should be of type array."})
        targets = [self._fix_target(key, i, entry) for i, entry in enumerate(entries)]
        actor = Actor("api", key)
        for order, external_id in targets:
            if order.external_id != external_id:
                old = order.external_id
                self._set_order_external_id(order, external_id)
                self._record(order, actor, "external_id", old, external_id)

    def _fix_target(self, key: str, index: int, entry: Any) -> tuple[Order, str]:
        where = f"orders[{index}]"
        errors: dict[str, str] = {}
        external_id = _text(entry, "externalId", errors, f"{where}.") if isinstance(entry, dict) else None
        if external_id is None:
            raise EntityFormatError(errors or {f"{where}.externalId": "This value should not be blank."})
        order = self._order_by("id", entry.get("id"), None)
        if order is None or order.site not in self._key(key).sites:
            raise EntityFormatError({f"{where}.id": f"Order with id={entry.get('id')} not found."})
        clash = self._order_by("externalId", external_id, order.site)
        if clash is not None and clash is not order:
            raise EntityFormatError({f"{where}.externalId": "Order with this externalId already exists."})
        return order, external_id

    # -- validation helpers ----------------------------------------------------------
    @staticmethod
    def _status_field(payload: dict[str, Any], default: str, errors: dict[str, str]) -> str:
        status = payload.get("status") or default
        if not _known(status, STATUSES):
            errors["status"] = f"Status {status!r} does not exist."
        return str(status)

    def _store_field(self, payload: dict[str, Any], default: str, errors: dict[str, str]) -> str:
        store = payload.get("shipmentStore") or default
        if not _known(store, self._settings.stores):
            errors["shipmentStore"] = f"Store {store!r} does not exist."
        return str(store)

    @staticmethod
    def _datetime_field(payload: dict[str, Any], name: str, errors: dict[str, str]) -> str | None:
        value = payload.get(name)
        if value is None:
            return None
        try:
            datetime.strptime(str(value), CRM_DATETIME)
        except ValueError:
            errors[name] = "This value is not a valid datetime."
            return None
        return str(value)

    def _item_specs(self, raw: Any, site: str, order: Order | None, errors: dict[str, str]) -> list[ItemSpec]:
        # PHP's json_encode turns an array keyed by item id into a JSON object; the real API takes both.
        if isinstance(raw, dict):
            raw = list(raw.values())
        if not isinstance(raw, list):
            errors["items"] = "This value should be of type array."
            return []
        specs = [self._item_spec(f"items[{i}]", entry, site, order, errors) for i, entry in enumerate(raw)]
        matched = [id(s.existing) for s in specs if s.existing is not None]
        if len(matched) != len(set(matched)):
            errors["items"] = "The same order product is listed twice."
        return specs

    def _item_spec(self, where: str, entry: Any, site: str, order: Order | None,
                   errors: dict[str, str]) -> ItemSpec:
        if not isinstance(entry, dict):
            errors[where] = "This value should be of type object."
            return ItemSpec(None, None, None, None, None, None, None)
        existing = self._match_item(where, entry, order, errors)
        offer = None
        if existing is None and (order is None or entry.get("id") is None):
            offer = self._find_offer(entry.get("offer"), site)
            if offer is None:
                errors[f"{where}.offer"] = "Offer not found."
        quantity = entry.get("quantity")
        if quantity is not None and (not _is_number(quantity) or _to_number(quantity) <= 0):
            errors[f"{where}.quantity"] = "This value should be greater than 0."
        status = entry.get("status")
        if status is not None and not _known(status, PRODUCT_STATUSES):
            errors[f"{where}.status"] = f"Product status {status!r} does not exist."
        price = entry.get("initialPrice")
        if price is not None and not _is_number(price):
            errors[f"{where}.initialPrice"] = "This value should be a number."
        external_ids = entry.get("externalIds")
        return ItemSpec(
            existing=existing, offer=offer,
            quantity=_to_number(quantity) if _is_number(quantity) else None,
            status=status, initial_price=_to_number(price) if _is_number(price) else None,
            product_name=_text(entry, "productName", errors, f"{where}."),
            external_ids=[dict(e) for e in external_ids if isinstance(e, dict)]
            if isinstance(external_ids, list) else None,
        )

    @staticmethod
    def _match_item(where: str, entry: dict[str, Any], order: Order | None,
                    errors: dict[str, str]) -> Item | None:
        """An edit's entry refers to a position by ``id`` or by ``externalIds``."""
        if order is None:
            return None
        if entry.get("id") is not None:
            item = next((i for i in order.items if str(i.id) == str(entry["id"])), None)
            if item is None:
                errors[f"{where}.id"] = f"Order product with id={entry['id']} not found."
            return item
        wanted = {(e.get("code"), str(e.get("value"))) for e in entry.get("externalIds") or []
                  if isinstance(e, dict)}
        return next((i for i in order.items
                     if wanted & {(e.get("code"), str(e.get("value"))) for e in i.external_ids}), None)

    # -- the stock rules -----------------------------------------------------------
    def _target_hold(self, order: Order, item: Item) -> Number:
        """How much of the item should be written off right now."""
        if not order.tracked:
            return 0
        if item.cancelled:
            return 0 if self._settings.item_cancel_returns_stock else item.held
        return item.quantity

    def _sync_holds(self, order: Order) -> None:
        for item in order.items:
            self._hold(order.shipment_store, item, self._target_hold(order, item))

    def _hold(self, store: str, item: Item, target: Number) -> None:
        delta = target - item.held
        if delta:
            self._row(item.offer.id, store).available -= delta
            item.held = target

    def _move_holds(self, order: Order, store: str) -> None:
        for item in order.items:
            if item.held:
                self._row(item.offer.id, order.shipment_store).available += item.held
                self._row(item.offer.id, store).available -= item.held
        order.shipment_store = store

    def _replace_items(self, order: Order, specs: list[ItemSpec], actor: Actor) -> None:
        kept = {id(s.existing) for s in specs if s.existing is not None}
        for item in order.items:
            if id(item) not in kept:
                self._hold(order.shipment_store, item, 0)  # a removed position gives its stock back
                self._record(order, actor, "order_product", item.ref_json(), None, item=item.ref_json())
        items: list[Item] = []
        for spec in specs:
            if spec.existing is None:
                item = self._new_item(spec)
                self._record(order, actor, "order_product", None, item.ref_json(), item=item.ref_json())
            else:
                item = spec.existing
                self._update_item(order, item, spec, actor)
            items.append(item)
        order.items = items

    def _update_item(self, order: Order, item: Item, spec: ItemSpec, actor: Actor) -> None:
        if spec.quantity is not None and spec.quantity != item.quantity:
            old, item.quantity = item.quantity, spec.quantity
            self._record(order, actor, "order_product.quantity", num(old), num(item.quantity), item=item.ref_json())
        if spec.initial_price is not None and spec.initial_price != item.initial_price:
            old, item.initial_price = item.initial_price, spec.initial_price
            self._record(order, actor, "order_product.initial_price", num(old), num(item.initial_price),
                         item=item.ref_json())
        if spec.status is not None:
            self._set_item_status(order, item, spec.status, actor)
        if spec.product_name is not None:
            item.product_name = spec.product_name
        if spec.external_ids is not None:
            item.external_ids = spec.external_ids

    def _set_item_status(self, order: Order, item: Item, status: str, actor: Actor) -> None:
        if status != item.status:
            old, item.status = item.status, status
            self._record(order, actor, "order_product.status", {"code": old}, {"code": status}, item=item.ref_json())

    def _change_status(self, order: Order, status: str, actor: Actor) -> None:
        if status == order.status:
            return
        old, order.status = order.status, status
        order.status_updated_at = self._now()
        self._record(order, actor, "status", {"code": old}, {"code": status})
        self._cascade_status(order)

    def _cascade_status(self, order: Order) -> None:
        """"Cancel items when the order is cancelled": the CRM does it itself."""
        if not self._settings.auto_cancel_items or STATUSES[order.status][1] != CANCEL_GROUP:
            return
        for item in order.items:
            if not item.cancelled:
                self._set_item_status(order, item, AUTO_CANCEL_ITEM_STATUS, CODE)

    def _record(self, order: Order, actor: Actor, field_name: str, old: Any, new: Any,
                item: dict[str, Any] | None = None, created: bool = False) -> None:
        self._order_history.append(Change(
            id=self._next_id("order_history"), created_at=self._now(), actor=actor, field=field_name,
            old=old, new=new, entity=order.to_json() if created else order.compact_json(),
            entity_id=order.id, item=item, created=created))

    # -- admin snapshot ------------------------------------------------------------------
    @_locked
    def snapshot(self) -> dict[str, Any]:
        return {
            "settings": asdict(self._settings),
            "offers": [{**asdict(o), "stores": {s: num(r.available) for (oid, s), r in self._stock.items()
                                                if oid == o.id}} for o in self._offers.values()],
            "orders": [{**o.to_json(), "stocksim": {
                "tracked": o.tracked, "held": {str(i.id): num(i.held) for i in o.items}}}
                for o in self._orders.values()],
            "customers": [c.to_json() for c in self._customers.values()],
            "history": {"orders": len(self._order_history), "customers": len(self._customer_history)},
        }


# Order fields the state models itself; anything else is stored verbatim.
_ORDER_FIELDS = frozenset({
    "id", "number", "externalId", "site", "status", "createdAt", "statusUpdatedAt", "firstName", "lastName",
    "email", "phone", "orderMethod", "customer", "shipmentStore", "items", "payments", "summ", "totalSumm",
    "shipped",
})

# (JSON name, attribute, history field): plain string fields an edit may change.
_SCALAR_FIELDS: tuple[tuple[str, str, str], ...] = (
    ("externalId", "external_id", "external_id"),
    ("number", "number", "number"),
    ("firstName", "first_name", "first_name"),
    ("lastName", "last_name", "last_name"),
    ("email", "email", "email"),
    ("phone", "phone", "phone"),
    ("orderMethod", "order_method", "order_method"),
)
_ORDER_TEXT_FIELDS = tuple(name for name, _, _ in _SCALAR_FIELDS)

# History values of reference fields are {"code": ...}.
_CODE_FIELDS = frozenset({"order_method"})


# (JSON name, attribute, history field): what a customer edit may change besides phones.
_CUSTOMER_SCALARS: tuple[tuple[str, str, str], ...] = (
    ("externalId", "external_id", "external_id"),
    ("firstName", "first_name", "first_name"),
    ("lastName", "last_name", "last_name"),
    ("email", "email", "email"),
)
_CUSTOMER_TEXT_FIELDS = tuple(name for name, _, _ in _CUSTOMER_SCALARS)


def _customer_input(payload: Any, partial: bool) -> tuple[dict[str, str | None], list[str] | None]:
    """The customer's text fields (with ``partial``, only those sent) and its phone
    numbers (None when no ``phones`` was sent), or ``EntityFormatError``."""
    if not isinstance(payload, dict):
        raise EntityFormatError({"customer": "This value should be of type object."})
    errors: dict[str, str] = {}
    texts = _texts(payload, [n for n in _CUSTOMER_TEXT_FIELDS if n in payload or not partial], errors)
    phones = payload.get("phones")
    if phones is not None and not isinstance(phones, list):
        errors["phones"] = "This value should be of type array."
    numbers = [_text(p, "number", errors, "phones[].") for p in phones if isinstance(p, dict)] \
        if isinstance(phones, list) else None
    raise_if(errors, EntityFormatError)
    return texts, None if numbers is None else [n for n in numbers if n]


def _customer_history_value(history_field: str, value: Any) -> Any:
    return [{"number": n} for n in value] if history_field == "phones" else value


def _reference_json(table: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {code: {"code": code, "name": name, "active": True} for code, name in table.items()}


def _reindex(index: dict[str, list[Any]], item: Any, old_value: str | None, new_value: str | None) -> None:
    """Move ``item`` (an offer or an order) from ``old_value``'s list to ``new_value``'s, which
    stay in id order, as a scan of all items in id order finds them."""
    if old_value is not None:  # by identity: dataclasses compare equal field by field
        index[old_value] = [other for other in index.get(old_value, ()) if other is not item]
    if new_value is not None:
        same = index.setdefault(new_value, [])
        same.insert(bisect.bisect(same, item.id, key=lambda other: other.id), item)


def _history_value(history_field: str, value: str | None) -> Any:
    return {"code": value} if value is not None and history_field in _CODE_FIELDS else value


def _known(value: Any, table: dict[str, Any]) -> bool:
    return isinstance(value, str) and value in table


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return math.isfinite(value)
    try:
        return math.isfinite(float(value))
    except (TypeError, ValueError):
        return False


def _to_number(value: Any) -> Number:
    return num(float(value)) if not isinstance(value, int) else value


def _text(source: dict[str, Any], name: str, errors: dict[str, str], where: str = "") -> str | None:
    """A string field. IDs may arrive as JSON numbers (PHP clients); the API stores strings."""
    value = source.get(name)
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        errors[f"{where}{name}"] = "This value should be of type string."
        return None
    return str(value)


def _texts(source: dict[str, Any], names: Iterable[str], errors: dict[str, str]) -> dict[str, str | None]:
    return {name: _text(source, name, errors) for name in names}
