"""WooCommerce's rules and state, without HTTP.

The catalogue (products, variations), orders with their line items, and the
core stock rules of woocommerce.md §3: order status transitions reduce or
restore stock once per order (flag ``stock_reduced``), line items remember
what was taken (``_reduced_stock``), every product save re-derives
``stock_status``. REST parsing and JSON shapes live in ``app.py``; the plugin
model in ``connector.py`` changes this state through the same methods the
plugin reaches through WooCommerce functions.

Hooks: WooCommerce fires ``woocommerce_new_order``, ``woocommerce_update_order``
and ``woocommerce_checkout_order_processed``; the plugin collects them during a
PHP request and acts at ``shutdown``. ``ShopState.request()`` is that request:
listeners see every action with the request's scope and get ``on_shutdown``
when the outermost scope ends. Listeners are always called with the state lock
released, because the plugin talks to the CRM from inside them.

Every stock write goes to ``stock_events``; the ones that moved a quantity are
also listed on the request's scope (``RequestScope.stock``), which is how the
HTTP journal tells which request moved what.
"""

from __future__ import annotations

import copy
import logging
import re
import threading
from collections import Counter, deque
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator, Protocol

from fakes.clock import Clock, WC_DATETIME

log = logging.getLogger("stocksim.shop")

PRODUCT_TYPES = ("simple", "variable", "variation", "external", "grouped")
STOCK_STATUSES = ("instock", "outofstock", "onbackorder")
BACKORDERS = ("no", "notify", "yes")
ORDER_STATUSES = (
    "pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "checkout-draft",
)
#: Entering one of these runs wc_maybe_reduce_stock_levels (woocommerce.md §3.2).
REDUCING_STATUSES = frozenset({"processing", "completed", "on-hold"})
#: Entering one of these runs wc_maybe_increase_stock_levels.
RESTORING_STATUSES = frozenset({"cancelled", "pending"})
#: wc_release_stock_for_order runs on these (and on payment complete).
RELEASING_STATUSES = frozenset({"cancelled", "completed", "processing", "on-hold"})
#: woocommerce_valid_order_statuses_for_payment_complete.
PAYMENT_COMPLETE_FROM = frozenset({"on-hold", "pending", "failed", "cancelled"})
#: wc_get_is_paid_statuses(): entering them sets date_paid.
PAID_STATUSES = frozenset({"processing", "completed"})

#: Gateways of a stock WooCommerce and the status their process_payment sets.
GATEWAYS: dict[str, tuple[str, str | None]] = {
    "cod": ("Cash on delivery", "processing"),
    "bacs": ("Direct bank transfer", "on-hold"),
    "cheque": ("Check payments", "on-hold"),
}

#: WordPress installs one product category, "Uncategorized"; every product starts in it.
DEFAULT_CATEGORY_ID = 15
DEFAULT_CATEGORY: dict[str, Any] = {"id": DEFAULT_CATEGORY_ID, "name": "Uncategorized", "slug": "uncategorized",
                                    "parent": 0}

NEW_ORDER = "woocommerce_new_order"
ORDER_UPDATED = "woocommerce_update_order"
CHECKOUT_PROCESSED = "woocommerce_checkout_order_processed"

DEFAULT_SHOP_SETTINGS: dict[str, Any] = {
    "woocommerce_manage_stock": "yes",
    "woocommerce_notify_no_stock_amount": 0,
    "woocommerce_hold_stock_minutes": 60,
    "woocommerce_currency": "RUB",
    "woocommerce_default_country": "RU",
    "blogname": "stocksim",
    # Not a WooCommerce option: whether REST line-quantity edits only move stock
    # for processing/completed/on-hold orders (woocommerce.md §3.4, version-dependent).
    "stocksim_gate_line_item_stock": "yes",
    # The WordPress home URL; None = the URL the request came in on.
    "home_url": None,
}


class ShopError(Exception):
    """A WooCommerce error: REST code, message, HTTP status and extra ``data``."""

    def __init__(self, code: str, message: str, status: int = 400, **data: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.data = data


def invalid_param(name: str, reason: str, detail_code: str = "rest_invalid_param") -> ShopError:
    """WordPress's schema validation failure (rest_invalid_param, with the per-parameter detail)."""
    details = {name: {"code": detail_code, "message": reason, "data": None}}
    return ShopError("rest_invalid_param", f"Invalid parameter(s): {name}", 400, params={name: reason},
                     details=details)


# --------------------------------------------------------------------------- models
@dataclass
class Product:
    id: int
    type: str
    name: str
    slug: str
    sku: str = ""
    parent_id: int = 0
    status: str = "publish"
    regular_price: str = ""
    sale_price: str = ""
    manage_stock: bool = False
    stock_quantity: int | None = None
    stock_status: str = "instock"
    backorders: str = "no"
    low_stock_amount: int | None = None
    virtual: bool = False
    category_ids: list[int] = field(default_factory=lambda: [DEFAULT_CATEGORY_ID])
    attributes: list[dict[str, Any]] = field(default_factory=list)
    children: list[int] = field(default_factory=list)
    date_created: str = ""
    date_modified: str = ""

    @property
    def price(self) -> str:
        return self.sale_price or self.regular_price


@dataclass
class LineItem:
    id: int
    product_id: int          # the parent for variations, 0 when the product is unknown
    variation_id: int
    quantity: int
    name: str
    sku: str
    subtotal: float
    total: float
    reduced_stock: int | None = None   # meta _reduced_stock: what was actually taken
    meta_id: int = 0                   # the meta row id WooCommerce would show

    @property
    def stock_product_id(self) -> int:
        return self.variation_id or self.product_id


@dataclass
class Hold:
    """A wc_reserved_stock row: not a reduction, only blocks other checkouts."""

    product_id: int
    quantity: int
    expires: float


@dataclass
class Order:
    id: int
    status: str
    created_via: str
    order_key: str
    date_created: str
    date_modified: str
    customer_id: int = 0
    billing: dict[str, str] = field(default_factory=dict)
    shipping: dict[str, str] = field(default_factory=dict)
    payment_method: str = ""
    payment_method_title: str = ""
    transaction_id: str = ""
    customer_note: str = ""
    line_items: list[LineItem] = field(default_factory=list)
    stock_reduced: bool = False
    date_paid: str | None = None
    date_completed: str | None = None
    holds: list[Hold] = field(default_factory=list)

    @property
    def total(self) -> float:
        return round(sum(li.total for li in self.line_items), 2)

    def item(self, item_id: int) -> LineItem | None:
        return next((li for li in self.line_items if li.id == item_id), None)


@dataclass
class LineInput:
    """A line item as a REST or checkout request describes it."""

    product_id: int | None = None
    variation_id: int | None = None
    sku: str | None = None
    quantity: int | None = None     # None: 1 on a new line, unchanged on an update
    total: float | None = None
    subtotal: float | None = None
    name: str | None = None
    id: int | None = None          # set on REST updates of an existing line
    remove: bool = False            # quantity 0 or product_id null with an id


# --------------------------------------------------------------------------- hooks
@dataclass
class RequestScope:
    """One PHP request: which actions fired (did_action) and listeners' queues."""

    actions: Counter[str] = field(default_factory=Counter)
    bag: dict[str, Any] = field(default_factory=dict)
    #: The stock quantities this request moved: {product_id, from, to, cause}, in order.
    stock: list[dict[str, Any]] = field(default_factory=list)

    def did_action(self, action: str) -> int:
        return self.actions[action]


class ShopListener(Protocol):
    def on_action(self, scope: RequestScope, action: str, order_id: int) -> None: ...

    def on_shutdown(self, scope: RequestScope) -> None: ...


# --------------------------------------------------------------------------- state
class ShopState:
    """Products, orders and WooCommerce's core stock rules behind one lock."""

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.lock = threading.RLock()
        self._listeners: list[ShopListener] = []
        self._local = threading.local()
        self.settings: dict[str, Any] = dict(DEFAULT_SHOP_SETTINGS)
        self._init_data()

    def _init_data(self) -> None:
        self.products: dict[int, Product] = {}
        # SKU -> ids of the products and variations carrying it (trashed ones too): the
        # duplicate check and wc_get_product_id_by_sku() in O(1), not a scan of every product.
        self._skus: dict[str, set[int]] = {}
        self.orders: dict[int, Order] = {}
        # The orders that hold stock (checkout reservations), so a checkout's stock check reads
        # their holds, not every order of the shop (a month of the big shop makes 60,000).
        self._holding: dict[int, Order] = {}
        self.files: dict[str, bytes] = {}
        self.stock_events: deque[dict[str, Any]] = deque(maxlen=5000)
        self._next_product_id = 10
        self._next_order_id = 100
        self._next_item_id = 1
        self._next_meta_id = 1

    def reset(self) -> None:
        """Back to an empty shop; the home URL survives so a running fake stays wired."""
        with self.lock:
            home = self.settings.get("home_url")
            self.settings = dict(DEFAULT_SHOP_SETTINGS, home_url=home)
            self._init_data()

    # -- settings ----------------------------------------------------------
    def update_settings(self, patch: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            for key, value in patch.items():
                self._check_setting(key, value)
            self.settings.update(patch)
            return dict(self.settings)

    @staticmethod
    def _check_setting(key: str, value: Any) -> None:
        if key not in DEFAULT_SHOP_SETTINGS:
            raise invalid_param(key, f"{key} is not a known setting.")
        if key in ("woocommerce_manage_stock", "stocksim_gate_line_item_stock") and value not in ("yes", "no"):
            raise invalid_param(key, f"{key} is not one of yes and no.")
        if key in ("woocommerce_notify_no_stock_amount", "woocommerce_hold_stock_minutes") and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise invalid_param(key, f"{key} is not of type integer.")
        if key == "home_url" and value is not None and not isinstance(value, str):
            raise invalid_param(key, "home_url is not of type string,null.")

    @property
    def global_manage_stock(self) -> bool:
        return self.settings["woocommerce_manage_stock"] == "yes"

    # -- request scope and hooks -------------------------------------------
    def add_listener(self, listener: ShopListener) -> None:
        self._listeners.append(listener)

    @contextmanager
    def request(self) -> Iterator[RequestScope]:
        """One PHP request. Nested calls join the outer one; the outermost runs shutdown."""
        current: RequestScope | None = getattr(self._local, "scope", None)
        if current is not None:
            yield current
            return
        scope = RequestScope()
        self._local.scope = scope
        try:
            yield scope
        finally:
            try:
                self._shutdown(scope)  # still inside the request: listeners reuse its API client
            finally:
                self._local.scope = None

    def current_scope(self) -> RequestScope | None:
        return getattr(self._local, "scope", None)

    def _shutdown(self, scope: RequestScope) -> None:
        for listener in self._listeners:
            try:
                listener.on_shutdown(scope)
            except Exception:  # PHP shutdown callbacks cannot break the response either
                log.exception("shop: shutdown listener failed")

    def _emit(self, action: str, order_id: int) -> None:
        """do_action(): counted in the request now, delivered once the lock is free."""
        scope = self.current_scope()
        assert scope is not None, "actions fire only inside ShopState.request()"
        scope.actions[action] += 1
        pending: list[tuple[str, int]] = self._local.__dict__.setdefault("pending", [])
        pending.append((action, order_id))

    @contextmanager
    def _mutation(self) -> Iterator[None]:
        """A change under the lock; its actions reach listeners after the lock is released."""
        with self.request():
            depth = getattr(self._local, "depth", 0)
            self._local.depth = depth + 1
            try:
                with self.lock:
                    yield
            except BaseException:
                if depth == 0:  # a failed request fires nothing
                    self._local.__dict__.get("pending", []).clear()
                raise
            finally:
                self._local.depth = depth
            if depth == 0:
                self._deliver_pending()

    def _deliver_pending(self) -> None:
        scope = self.current_scope()
        pending: list[tuple[str, int]] = self._local.__dict__.get("pending", [])
        while pending and scope is not None:
            action, order_id = pending.pop(0)
            for listener in self._listeners:
                try:
                    listener.on_action(scope, action, order_id)
                except Exception:
                    log.exception("shop: listener failed on %s for order %s", action, order_id)

    # -- ids and time -------------------------------------------------------
    def _now(self) -> str:
        return self.clock.wc_format()

    def _new_meta_id(self) -> int:
        self._next_meta_id += 1
        return self._next_meta_id - 1

    # -- files (the ICML catalog lives in ABSPATH) ---------------------------
    def put_file(self, name: str, content: bytes) -> None:
        with self.lock:
            self.files[name] = content

    def get_file(self, name: str) -> bytes | None:
        with self.lock:
            return self.files.get(name)

    # ======================================================================= products
    def get_product(self, product_id: int) -> Product:
        product = self.products.get(product_id)
        if product is None:
            raise ShopError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        return product

    def find_product(self, product_id: Any) -> Product | None:
        """wc_get_product(): numeric ids only ("41_7" finds nothing)."""
        try:
            return self.products.get(int(str(product_id).strip()))
        except (TypeError, ValueError):
            return None

    def find_product_id_by_sku(self, sku: str) -> int | None:
        """wc_get_product_id_by_sku(): products and variations, first by id."""
        if not sku:
            return None
        with self.lock:
            return min((pid for pid in self._skus.get(sku, ()) if self.products[pid].status != "trash"), default=None)

    def create_product(self, **fields: Any) -> Product:
        """Create a product or (with ``type="variation"`` and ``parent_id``) a variation."""
        with self._mutation():
            ptype = fields.get("type", "simple")
            if ptype not in PRODUCT_TYPES:
                raise invalid_param("type", f"type is not one of {_one_of(PRODUCT_TYPES)}.")
            parent = self._variation_parent(fields) if ptype == "variation" else None
            now = self._now()
            product = Product(id=self._next_product_id, type=ptype, name=fields.get("name", ""),
                              slug="", date_created=now, date_modified=now,
                              parent_id=parent.id if parent else 0)
            self._check_sku(fields.get("sku", ""), product.id)
            self._next_product_id += 1
            self._apply_product_fields(product, fields)
            product.slug = _slugify(product.name) or str(product.id)
            self.products[product.id] = product
            self._index_sku(product, "")
            if parent is not None:
                parent.children.append(product.id)
            self._save_product(product)
            self._stock_event(product, "set", None, source="rest")
            return product

    def _variation_parent(self, fields: dict[str, Any]) -> Product:
        parent = self.products.get(int(fields.get("parent_id") or 0))
        if parent is None or parent.type != "variable":
            raise ShopError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
        return parent

    def update_product(self, product_id: int, fields: dict[str, Any]) -> Product:
        """A REST write (woocommerce.md §2.3): stock fields are absolute sets."""
        with self._mutation():
            product = self.products.get(product_id)
            if product is None:
                raise ShopError("woocommerce_rest_product_invalid_id", "Invalid ID.", 400)
            if "sku" in fields:
                self._check_sku(fields["sku"], product.id)
            before = product.stock_quantity
            self._apply_product_fields(product, fields)
            self._save_product(product)
            self._stock_event(product, "set", before, source="rest")
            return product

    def delete_product(self, product_id: int, *, force: bool) -> Product:
        """WC_REST_Products_Controller::delete_item(): forced deletes take a variable product's
        variations along; otherwise the post goes to the trash. Answers the product as it was."""
        with self._mutation():
            product = self.get_product(product_id)
            noun = "product_variation" if product.type == "variation" else "product"
            before = copy.copy(product)
            if force:
                self._remove_product(product)
            else:
                _trash(product, noun)
            parent = self.products.get(product.parent_id)
            if product.type == "variation" and parent is not None:
                self._validate_props(parent)  # the parent's status no longer counts this child
            return before

    def _remove_product(self, product: Product) -> None:
        for child_id in product.children:
            child = self.products.pop(child_id, None)
            if child is not None:
                self._unindex_sku(child)
        del self.products[product.id]
        self._unindex_sku(product)
        parent = self.products.get(product.parent_id)
        if product.type == "variation" and parent is not None:
            parent.children.remove(product.id)

    def _check_sku(self, sku: Any, own_id: int) -> None:
        if not sku:
            return
        # wc_product_has_unique_sku() does not look into the trash.
        same = self._skus.get(sku, ()) if isinstance(sku, str) else ()  # a non-string never equalled a SKU
        clash_id = min((pid for pid in same
                        if pid != own_id and self.products[pid].status != "trash"), default=None)
        clash = None if clash_id is None else self.products[clash_id]
        if clash is not None:
            raise ShopError("product_invalid_sku", "Invalid or duplicated SKU.", 400,
                            resource_id=clash.id, unique_sku=f"{sku}-1")

    def _index_sku(self, product: Product, old_sku: str) -> None:
        """Keep ``_skus`` in step with a product's SKU (``old_sku``: the one it had)."""
        if old_sku == product.sku and old_sku:
            return
        if old_sku and old_sku in self._skus:
            self._skus[old_sku].discard(product.id)
            if not self._skus[old_sku]:
                del self._skus[old_sku]
        if product.sku and product.id in self.products:
            self._skus.setdefault(product.sku, set()).add(product.id)

    def _unindex_sku(self, product: Product) -> None:
        same = self._skus.get(product.sku)
        if same is not None:
            same.discard(product.id)
            if not same:
                del self._skus[product.sku]

    def _apply_product_fields(self, product: Product, fields: dict[str, Any]) -> None:
        old_sku = product.sku
        for key in ("name", "sku", "status"):
            if key in fields and fields[key] is not None:
                setattr(product, key, str(fields[key]))
        if product.sku != old_sku:
            self._index_sku(product, old_sku)
        for key in ("regular_price", "sale_price"):
            if key in fields and fields[key] is not None:
                setattr(product, key, wc_format_decimal(str(fields[key])))
        if "virtual" in fields:
            product.virtual = bool(fields["virtual"])
        if "attributes" in fields and isinstance(fields["attributes"], list):
            product.attributes = fields["attributes"]
        self._apply_stock_fields(product, fields)

    def _apply_stock_fields(self, product: Product, fields: dict[str, Any]) -> None:
        if not self.global_manage_stock:
            # With stock management off WooCommerce only takes the status.
            if fields.get("stock_status") in STOCK_STATUSES:
                product.stock_status = fields["stock_status"]
            return
        if "manage_stock" in fields:
            product.manage_stock = fields["manage_stock"] is True
        if fields.get("backorders") in BACKORDERS:
            product.backorders = fields["backorders"]
        if product.manage_stock:
            if fields.get("stock_quantity") is not None:
                product.stock_quantity = _intval(fields["stock_quantity"])
        elif fields.get("stock_status") in STOCK_STATUSES:
            product.stock_status = fields["stock_status"]
        if "low_stock_amount" in fields:
            value = fields["low_stock_amount"]
            product.low_stock_amount = None if value in (None, "") else _intval(value)

    def set_stock(self, product_id: int, quantity: Any, *, source: str) -> int:
        """set_manage_stock(true); set_stock_quantity(q); save(): absolute, last writer wins."""
        return self.set_stocks([(product_id, quantity)], source=source)[0]

    def set_stocks(self, quantities: list[tuple[int, Any]], *, source: str) -> list[int]:
        """``set_stock`` for each (product id, quantity) in turn, in one request: what the
        connector's inventories job does for every offer of a page (250 at a time, every 15
        minutes), so the lock is taken once and the save time read once (simulated time
        stands still during a request)."""
        if self.current_scope() is None:
            with self.request():  # a request of its own, whose shutdown runs as in any other
                return self.set_stocks(quantities, source=source)
        # It fires no action, so inside a request the lock is all ``_mutation`` would add.
        written: list[int] = []
        with self.lock:
            now = self._now()
            for product_id, quantity in quantities:
                product = self.products[product_id]
                before = product.stock_quantity
                product.manage_stock = True
                product.stock_quantity = _intval(quantity)
                self._save_product(product, now)
                self._stock_event(product, "set", before, source=source)
                written.append(product.stock_quantity)
        return written

    # -- stock derivation (woocommerce.md §3.5) -------------------------------
    def _save_product(self, product: Product, now: str | None = None) -> None:
        """WC_Product::save(): validate_props re-derives the status on every save."""
        self._validate_props(product)
        product.date_modified = now or self._now()
        if product.type == "variation":
            parent = self.products.get(product.parent_id)
            if parent is not None:
                self._validate_props(parent)  # WC_Product_Variable::sync on child save

    def _validate_props(self, product: Product) -> None:
        if product.type in ("external", "grouped"):
            product.manage_stock = False
        if not product.manage_stock:
            product.stock_quantity = None
            product.backorders = "no"
            product.low_stock_amount = None
            if product.type == "variable":
                product.stock_status = self._status_from_children(product)
            return
        product.stock_status = self._derive_status(product.stock_quantity or 0, product.backorders)
        if product.type == "variable":
            self._sync_managed_variations(product)

    def _sync_managed_variations(self, parent: Product) -> None:
        """sync_managed_variation_stock_status(): variations managed by the parent store its
        status, so they keep it if the parent stops managing stock later."""
        for child in self._children(parent):
            if not child.manage_stock:
                child.stock_status = parent.stock_status

    def _children(self, parent: Product) -> list[Product]:
        return [self.products[c] for c in parent.children if c in self.products]

    def _derive_status(self, quantity: int, backorders: str) -> str:
        if quantity > int(self.settings["woocommerce_notify_no_stock_amount"]):
            return "instock"
        return "onbackorder" if backorders != "no" else "outofstock"

    def _status_from_children(self, parent: Product) -> str:
        statuses = {self.effective_stock_status(child) for child in self._children(parent) if child.status != "trash"}
        for status in ("instock", "onbackorder"):
            if status in statuses:
                return status
        return "outofstock"

    def stock_owner(self, product: Product) -> Product | None:
        """get_stock_managed_by_id(): the product whose _stock moves, or None."""
        if product.manage_stock:
            return product
        if product.type == "variation":
            parent = self.products.get(product.parent_id)
            if parent is not None and parent.manage_stock:
                return parent
        return None

    def managing_stock(self, product: Product) -> bool:
        """WC_Product::managing_stock(): the global option wins."""
        return self.global_manage_stock and self.stock_owner(product) is not None

    def managed_by_parent(self, product: Product) -> bool:
        return product.type == "variation" and not product.manage_stock and self.stock_owner(product) is not None

    def effective_stock_status(self, product: Product) -> str:
        owner = self.stock_owner(product)
        return owner.stock_status if owner is not None and owner is not product else product.stock_status

    def effective_stock_quantity(self, product: Product) -> int | None:
        owner = self.stock_owner(product)
        return owner.stock_quantity if owner is not None else None

    def effective_backorders(self, product: Product) -> str:
        """A variation managed by its parent shows the parent's backorders (view context)."""
        owner = self.stock_owner(product)
        return owner.backorders if owner is not None and self.managed_by_parent(product) else product.backorders

    def _change_stock(self, owner: Product, delta: int, op: str, order_id: int) -> None:
        """wc_update_product_stock(): an atomic SQL delta, then a save."""
        before = owner.stock_quantity
        owner.stock_quantity = (owner.stock_quantity or 0) + delta
        self._save_product(owner)
        self._stock_event(owner, op, before, order_id=order_id, delta=delta)

    def _stock_event(self, product: Product, op: str, before: int | None, **extra: Any) -> None:
        """Every stock write goes to the event log; the ones that moved the quantity also go to
        the request's scope, so the HTTP journal can show which request moved what."""
        after = product.stock_quantity
        if extra.get("source") == "rest" and before == after:
            return  # a product save that left the quantity alone wrote no stock
        who = f"order {extra['order_id']}" if "order_id" in extra else str(extra.get("source", ""))
        cause = f"{who} {op}"
        self.stock_events.append({"t": self.clock.now(), "product_id": product.id, "op": op,
                                  "before": before, "after": after, "cause": cause, **extra})
        scope = self.current_scope()
        if scope is not None and before != after:
            scope.stock.append({"product_id": product.id, "from": before, "to": after, "cause": cause})

    # -- lists ---------------------------------------------------------------------
    def list_products(self, *, skus: list[str] | None = None, types: list[str] | None = None,
                      include: list[int] | None = None, parent: list[int] | None = None,
                      status: str = "any", stock_status: str | None = None) -> list[Product]:
        with self.lock:
            if skus is not None:
                # With a sku filter WooCommerce searches products and variations alike.
                found = [p for p in self.products.values() if p.sku and p.sku in skus]
            else:
                found = [p for p in self.products.values() if p.type != "variation"]
            if types:
                found = [p for p in found if p.type in types]
            if include:
                found = [p for p in found if p.id in include]
            if parent:
                found = [p for p in found if p.parent_id in parent]
            found = [p for p in found if _has_status(p, status)]
            if stock_status:
                found = [p for p in found if self.effective_stock_status(p) == stock_status]
            return found

    def variations_of(self, parent_id: int, status: str = "any") -> list[Product]:
        with self.lock:
            parent = self.products.get(parent_id)
            if parent is None or parent.type != "variable":
                raise ShopError("woocommerce_rest_product_invalid_id", "Invalid ID.", 404)
            return [child for child in self._children(parent) if _has_status(child, status)]

    # ======================================================================= orders
    def get_order(self, order_id: int, *, missing_status: int = 404) -> Order:
        order = self.orders.get(order_id)
        if order is None:
            raise ShopError("woocommerce_rest_shop_order_invalid_id", "Invalid ID.", missing_status)
        return order

    def find_order(self, order_id: Any) -> Order | None:
        """wc_get_order(): numeric ids only."""
        try:
            return self.orders.get(int(str(order_id).strip()))
        except (TypeError, ValueError):
            return None

    def list_orders(self, statuses: list[str] | None = None) -> list[Order]:
        """No statuses means "any": every status wc_get_order_statuses() knows, so not the trash."""
        with self.lock:
            if not statuses:
                return [o for o in self.orders.values() if o.status != "trash"]
            return [o for o in self.orders.values() if o.status in statuses]

    def delete_order(self, order_id: int, *, force: bool) -> Order:
        """DELETE /orders/{id}: forced deletes remove the order, otherwise it goes to the trash.
        Neither moves stock: WooCommerce restores stock on cancel, not on delete. Answers the
        order as it was."""
        with self._mutation():
            order = self.get_order(order_id)
            before = copy.copy(order)
            if force:
                del self.orders[order_id]
                self._holding.pop(order_id, None)
            else:
                _trash(order, "shop_order")
            return before

    def _new_order(self, created_via: str) -> Order:
        now = self._now()
        order = Order(id=self._next_order_id, status="pending", created_via=created_via,
                      order_key=f"wc_order_{self._next_order_id:013x}", date_created=now, date_modified=now)
        self._next_order_id += 1
        self.orders[order.id] = order
        return order

    def create_order(self, *, status: str = "pending", set_paid: bool = False,
                     line_items: list[LineInput] | None = None, created_via: str = "rest-api",
                     **props: Any) -> Order:
        """POST /orders (woocommerce.md §3.3): saved pending with its items, then moved."""
        with self._mutation():
            self._check_lines(None, line_items or [])
            order = self._new_order(created_via)
            self._set_props(order, props)
            for line in line_items or []:
                self._add_rest_line(order, line)
            self._emit(NEW_ORDER, order.id)
            if status != "pending":
                self._transition(order, status)
                self._saved(order)
            if set_paid:
                self._payment_complete(order)
            return order

    def create_order_programmatic(self, *, status: str | None = None, customer_id: int | None = None,
                                  created_via: str = "") -> Order:
        """wc_create_order(['status'=>X]): the pending→X transition fires on the first
        save, before any item exists, so a reducing X sets the flag with nothing taken
        (module-behaviour.md §5.5). Items added later never move stock."""
        with self._mutation():
            order = self._new_order(created_via)
            if customer_id:
                order.customer_id = int(customer_id)
            self._emit(NEW_ORDER, order.id)
            if status is not None:
                self._transition(order, status if status in ORDER_STATUSES else "pending")
            return order

    def update_order(self, order_id: int, *, status: str | None = None, set_paid: bool = False,
                     line_items: list[LineInput] | None = None, **props: Any) -> Order:
        """PUT /orders/{id}: merge fields, edit lines, then the status transition."""
        with self._mutation():
            order = self.get_order(order_id, missing_status=400)
            self._check_lines(order, line_items or [])
            changed = self._set_props(order, props)
            for line in line_items or []:
                changed = self._update_rest_line(order, line) or changed
            if status is not None and status != order.status:
                self._transition(order, status)
                changed = True
            if changed:
                self._saved(order)
            if set_paid and order.status in ("pending", "failed") and order.total > 0:
                self._payment_complete(order)
            return order

    def update_order_status(self, order_id: int, status: str) -> Order:
        """WC_Order::update_status(): an unknown status becomes pending, as in WooCommerce."""
        with self._mutation():
            order = self.get_order(order_id)
            new = status if status in ORDER_STATUSES else "pending"
            if new != order.status:
                self._transition(order, new)
                self._saved(order)
            return order

    def payment_complete(self, order_id: int) -> Order:
        with self._mutation():
            order = self.get_order(order_id)
            self._payment_complete(order)
            return order

    def set_order_props(self, order_id: int, **props: Any) -> Order:
        """Setters plus save(): billing/shipping (merged), payment method, note, date_created."""
        with self._mutation():
            order = self.get_order(order_id)
            if self._set_props(order, props):
                self._saved(order)
            return order

    def add_order_item(self, order_id: int, product_id: int, quantity: int, *,
                       total: float | None = None, subtotal: float | None = None) -> int:
        """WC_Order::add_product() + save(): a new line, no stock effect (§3.4)."""
        with self._mutation():
            order = self.get_order(order_id)
            product = self.products[product_id]
            item = self._make_item(product, int(quantity), total, subtotal)
            order.line_items.append(item)
            self._saved(order)
            return item.id

    def update_order_item(self, order_id: int, item_id: int, *, quantity: int | None = None,
                          subtotal: float | None = None, total: float | None = None) -> None:
        """WC_Order_Item setters + save(): no stock effect, _reduced_stock untouched (§3.4)."""
        with self._mutation():
            order = self.get_order(order_id)
            item = order.item(item_id)
            if item is None:
                return
            before = (item.quantity, item.subtotal, item.total)
            if quantity is not None:
                item.quantity = int(quantity)
            if subtotal is not None:
                item.subtotal = float(subtotal)
            if total is not None:
                item.total = float(total)
            if (item.quantity, item.subtotal, item.total) != before:
                self._saved(order)

    def delete_order_item(self, order_id: int, item_id: int) -> None:
        """wc_delete_order_item(): the line and its _reduced_stock record just vanish."""
        with self._mutation():
            order = self.get_order(order_id)
            before = len(order.line_items)
            order.line_items = [li for li in order.line_items if li.id != item_id]
            if len(order.line_items) != before:
                self._saved(order)

    def _saved(self, order: Order) -> None:
        """A save of an existing order that changed something."""
        order.date_modified = self._now()
        self._emit(ORDER_UPDATED, order.id)

    # -- order props and lines -----------------------------------------------------
    def _set_props(self, order: Order, props: dict[str, Any]) -> bool:
        changed = False
        for key, value in props.items():
            if value is None:
                continue
            if key in ("billing", "shipping"):
                merged = {**getattr(order, key), **{k: str(v) for k, v in value.items()}}
                changed = changed or merged != getattr(order, key)
                setattr(order, key, merged)
            elif key in ("payment_method", "payment_method_title", "transaction_id", "customer_note",
                         "date_created"):
                changed = changed or getattr(order, key) != str(value)
                setattr(order, key, str(value))
            elif key == "customer_id":
                changed = changed or order.customer_id != int(value)
                order.customer_id = int(value)
            else:
                raise ValueError(f"unknown order prop {key}")
        if props.get("payment_method") and not props.get("payment_method_title"):
            order.payment_method_title = GATEWAYS.get(order.payment_method, (order.payment_method, None))[0]
        return changed

    def _resolve_line_product(self, line: LineInput) -> Product | None:
        """The REST controller's get_product_id(): sku > product_id alone > variation_id."""
        if line.sku:
            pid = self.find_product_id_by_sku(line.sku)
            return self.products.get(pid) if pid else None
        if line.product_id and not line.variation_id:
            return self.products.get(int(line.product_id))
        if line.variation_id:
            return self.products.get(int(line.variation_id))
        raise ShopError("woocommerce_rest_required_product_reference", "Product ID or SKU is required.", 400)

    def _check_lines(self, order: Order | None, lines: list[LineInput]) -> None:
        """Reject a bad line before anything changes: the REST controller fails before save()."""
        for line in lines:
            if line.id is None:
                self._resolve_line_product(line)
            elif order is None or order.item(line.id) is None:
                raise ShopError("woocommerce_rest_invalid_item_id",
                                "Order item ID provided is not associated with order.", 400)

    def _make_item(self, product: Product | None, quantity: int, total: float | None,
                   subtotal: float | None, name: str | None = None) -> LineItem:
        unit = _money(product.price) if product else 0.0
        line_total = round(unit * quantity, 2) if total is None else float(total)
        item = LineItem(
            id=self._next_item_id, quantity=quantity,
            product_id=(product.parent_id or product.id) if product else 0,
            variation_id=product.id if product and product.type == "variation" else 0,
            name=name if name is not None else (product.name if product else ""),
            sku=product.sku if product else "",
            total=line_total, subtotal=line_total if subtotal is None else float(subtotal),
            meta_id=self._new_meta_id(),
        )
        self._next_item_id += 1
        return item

    def _add_rest_line(self, order: Order, line: LineInput) -> None:
        # The product is not validated: an unknown one gives a line with product_id 0.
        product = self._resolve_line_product(line)
        quantity = 1 if line.quantity is None else line.quantity
        order.line_items.append(self._make_item(product, quantity, line.total, line.subtotal, line.name))

    def _update_rest_line(self, order: Order, line: LineInput) -> bool:
        if line.id is None:
            self._add_rest_line(order, line)  # a line without id is a new line, no stock effect
            return True
        item = order.item(line.id)
        if item is None:
            raise ShopError("woocommerce_rest_invalid_item_id",
                            "Order item ID provided is not associated with order.", 400)
        if line.remove:
            self._adjust_line_stock(order, item, 0)  # WC >= 9.3 restores before removing
            order.line_items.remove(item)
            return True
        if line.quantity is not None and line.quantity != item.quantity:
            self._adjust_line_stock(order, item, line.quantity)
            unit = item.total / item.quantity if item.quantity else 0.0
            item.quantity = line.quantity
            item.total = item.subtotal = round(unit * line.quantity, 2)
            return True
        return False

    def _adjust_line_stock(self, order: Order, item: LineItem, new_quantity: int) -> None:
        """wc_maybe_adjust_line_item_product_stock(): move stock by the difference."""
        gated = self.settings["stocksim_gate_line_item_stock"] == "yes"
        if gated and order.status not in REDUCING_STATUSES:
            return
        product = self.products.get(item.stock_product_id)
        owner = self.stock_owner(product) if product else None
        if owner is None or not self.global_manage_stock:
            return
        diff = new_quantity - (item.reduced_stock or 0)
        item.reduced_stock = new_quantity if new_quantity > 0 else None
        if diff:
            self._change_stock(owner, -diff, "adjust", order.id)
        if new_quantity > 0:
            order.stock_reduced = True

    # -- status transitions (woocommerce.md §3.2) ---------------------------------
    def _transition(self, order: Order, new: str) -> None:
        old = order.status
        if new == old:
            return
        order.status = new
        if new in PAID_STATUSES and order.date_paid is None:
            order.date_paid = self._now()
        if new == "completed" and order.date_completed is None:
            order.date_completed = self._now()
        if new in REDUCING_STATUSES:
            self._maybe_reduce(order)
        if new in RESTORING_STATUSES:
            self._maybe_restore(order)
        if new in RELEASING_STATUSES:
            self._release_holds(order)

    def _payment_complete(self, order: Order) -> None:
        """WC_Order::payment_complete(): only from on-hold/pending/failed/cancelled."""
        if order.status not in PAYMENT_COMPLETE_FROM:
            return
        if order.date_paid is None:
            order.date_paid = self._now()
        # needs_processing() is true unless every item is virtual and downloadable;
        # the fake has no downloadable products.
        self._transition(order, "processing")
        self._saved(order)
        self._maybe_reduce(order)  # the woocommerce_payment_complete hook
        self._release_holds(order)

    def _maybe_reduce(self, order: Order) -> None:
        if order.stock_reduced:
            return
        if self.global_manage_stock:
            for item in order.line_items:
                self._reduce_line(order, item)
        # The flag is set even when nothing was reduced (no items, stock management off).
        order.stock_reduced = True

    def _reduce_line(self, order: Order, item: LineItem) -> None:
        product = self.products.get(item.stock_product_id)
        owner = self.stock_owner(product) if product else None
        if item.reduced_stock or owner is None:
            return
        self._change_stock(owner, -item.quantity, "reduce", order.id)
        item.reduced_stock = item.quantity

    def _maybe_restore(self, order: Order) -> None:
        if not order.stock_reduced:
            return
        if self.global_manage_stock:
            for item in order.line_items:
                self._restore_line(order, item)
        order.stock_reduced = False

    def _restore_line(self, order: Order, item: LineItem) -> None:
        product = self.products.get(item.stock_product_id)
        owner = self.stock_owner(product) if product else None
        if not item.reduced_stock or owner is None:
            return
        # The recorded amount goes back, not the line's current quantity.
        self._change_stock(owner, item.reduced_stock, "restore", order.id)
        item.reduced_stock = None

    # ======================================================================= checkout
    def checkout(self, line_items: list[LineInput], billing: dict[str, str], payment_method: str) -> Order:
        """A classic checkout (woocommerce.md §3.6): pending + hold, the
        checkout_order_processed hook (the plugin uploads the order here), then the gateway."""
        with self.request():
            with self._mutation():
                lines = self._checkout_lines(line_items)
                order = self._new_order("checkout")
                title = GATEWAYS.get(payment_method, (payment_method, None))[0]
                self._set_props(order, {"billing": billing, "payment_method": payment_method,
                                        "payment_method_title": title})
                order.line_items.extend(self._make_item(p, q, None, None) for p, q in lines)
                self._emit(NEW_ORDER, order.id)
                self._reserve_stock(order)
            with self._mutation():
                self._emit(CHECKOUT_PROCESSED, order.id)
            with self._mutation():
                gateway_status = GATEWAYS.get(payment_method, ("", None))[1]
                if gateway_status is not None:
                    self._transition(order, gateway_status)
                    self._saved(order)
            return order

    def _checkout_lines(self, line_items: list[LineInput]) -> list[tuple[Product, int]]:
        if not line_items:
            raise ShopError("woocommerce_rest_cart_empty", "Cannot create order from empty cart.", 400)
        lines: list[tuple[Product, int]] = []
        for line in line_items:
            product = self.products.get(int(line.variation_id or line.product_id or 0))
            if product is None or not self._purchasable(product):
                raise ShopError("woocommerce_rest_cart_invalid_product",
                                "This product cannot be added to the cart.", 400)
            lines.append((product, 1 if line.quantity is None else line.quantity))
        self._check_cart_stock(lines)
        return lines

    def _purchasable(self, product: Product) -> bool:
        return product.type in ("simple", "variation") and product.status == "publish" and product.price != ""

    def _check_cart_stock(self, lines: list[tuple[Product, int]]) -> None:
        """WC_Cart::check_cart_item_stock(): status, then quantity minus other orders' holds."""
        if not self.global_manage_stock:
            return
        required: Counter[int] = Counter()
        for product, quantity in lines:
            if self.effective_stock_status(product) == "outofstock":
                message = f'You cannot add "{product.name}" to the cart because the product is out of stock.'
                raise ShopError("woocommerce_rest_product_out_of_stock", message, 400)
            owner = self.stock_owner(product)
            if owner is not None and owner.backorders == "no":
                required[owner.id] += quantity
        for owner_id, quantity in required.items():
            owner = self.products[owner_id]
            available = (owner.stock_quantity or 0) - self.held_stock(owner_id)
            if available < quantity:
                raise ShopError("woocommerce_product_not_enough_stock",
                                f"Not enough units of {owner.name} are available in stock to fulfil this order.",
                                400)

    def held_stock(self, product_id: int, exclude_order: int = 0) -> int:
        """wc_get_held_stock_quantity(): live holds of pending/checkout-draft orders."""
        now = self.clock.now()
        return sum(h.quantity for o in self._holding.values()
                   if o.id != exclude_order and o.status in ("pending", "checkout-draft")
                   for h in o.holds if h.product_id == product_id and h.expires > now)

    def _release_holds(self, order: Order) -> None:
        order.holds.clear()
        self._holding.pop(order.id, None)

    def _reserve_stock(self, order: Order) -> None:
        minutes = int(self.settings["woocommerce_hold_stock_minutes"])
        if minutes <= 0 or not self.global_manage_stock:
            return
        expires = self.clock.now() + minutes * 60
        for item in order.line_items:
            product = self.products.get(item.stock_product_id)
            owner = self.stock_owner(product) if product else None
            if owner is not None and owner.backorders == "no":
                order.holds.append(Hold(owner.id, item.quantity, expires))
                self._holding[order.id] = order

    # ======================================================================= snapshot
    def snapshot(self) -> dict[str, Any]:
        with self.lock:
            return {
                "now": self.clock.now(),
                "settings": dict(self.settings),
                "products": [self._product_snapshot(p) for p in self.products.values()],
                "orders": [self._order_snapshot(o) for o in self.orders.values()],
                "stock_events": list(self.stock_events),
                "files": sorted(self.files),
            }

    def _product_snapshot(self, p: Product) -> dict[str, Any]:
        return {"id": p.id, "type": p.type, "name": p.name, "sku": p.sku, "parent_id": p.parent_id,
                "manage_stock": p.manage_stock, "managed_by_parent": self.managed_by_parent(p),
                "stock_quantity": p.stock_quantity, "stock_status": self.effective_stock_status(p),
                "backorders": p.backorders, "held": self.held_stock(p.id)}

    @staticmethod
    def _order_snapshot(o: Order) -> dict[str, Any]:
        return {"id": o.id, "status": o.status, "created_via": o.created_via, "stock_reduced": o.stock_reduced,
                "payment_method": o.payment_method, "date_created": o.date_created,
                "line_items": [{"id": li.id, "product_id": li.product_id, "variation_id": li.variation_id,
                                "quantity": li.quantity, "_reduced_stock": li.reduced_stock}
                               for li in o.line_items],
                "holds": [{"product_id": h.product_id, "quantity": h.quantity, "expires": h.expires}
                          for h in o.holds]}


# --------------------------------------------------------------------------- helpers
PHP_INT_MAX = 2**63 - 1
#: The leading number PHP's string-to-number casts read ("12abc" → 12, " 1e3" → 1000).
_PHP_NUMBER = re.compile(r"\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")


def php_float(value: Any) -> float:
    """PHP (float) cast: numbers as they are, a string's leading number, anything else 0."""
    if isinstance(value, (bool, float)):
        return float(value)
    if isinstance(value, int):
        return float(max(-PHP_INT_MAX - 1, min(PHP_INT_MAX, value)))
    match = _PHP_NUMBER.match(str(value))
    number = float(match.group(0)) if match else 0.0
    return number if number == number and abs(number) != float("inf") else 0.0


def _intval(value: Any) -> int:
    """PHP intval() as wc_stock_amount() uses it: 2.9 → 2, "3" → 3, "12abc" → 12, junk → 0."""
    number = value if isinstance(value, int) and not isinstance(value, bool) else int(php_float(value))
    return max(-PHP_INT_MAX - 1, min(PHP_INT_MAX, number))  # json_decode turns larger ones into floats


def _money(value: Any) -> float:
    return round(php_float(value), 2)


def wc_format_decimal(text: str) -> str:
    """wc_format_decimal() on a price: only digits, "-" and the last "." survive ("abc" → "")."""
    last_dot = text.rfind(".")
    return "".join(c for i, c in enumerate(text) if c in "0123456789-" or (c == "." and i == last_dot))


def _has_status(product: Product, status: str) -> bool:
    """A post status filter: "any" is every status but the trash, as for WP_Query."""
    return product.status == status or (status == "any" and product.status != "trash")


def _trash(record: Product | Order, noun: str) -> None:
    """wp_trash_post(): only the status changes; trashing twice is refused (410)."""
    if record.status == "trash":
        raise ShopError("woocommerce_rest_already_trashed", f"The {noun} has already been deleted.", 410)
    record.status = "trash"


def _slugify(name: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in name.lower()).split())


def _one_of(values: tuple[str, ...] | list[str]) -> str:
    """wp_sprintf_l: "a, b, and c"."""
    values = list(values)
    if len(values) <= 2:
        return " and ".join(values)
    return ", ".join(values[:-1]) + ", and " + values[-1]


def crm_to_wc_datetime(value: str) -> str | None:
    """"Y-m-d H:i:s" → WooCommerce's "Y-m-dTH:i:s"; None when unparsable."""
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").strftime(WC_DATETIME)
    except (TypeError, ValueError):
        return None


__all__ = [
    "ShopState", "ShopError", "Product", "Order", "LineItem", "LineInput", "RequestScope", "ShopListener",
    "NEW_ORDER", "ORDER_UPDATED", "CHECKOUT_PROCESSED", "ORDER_STATUSES", "GATEWAYS", "DEFAULT_SHOP_SETTINGS",
    "DEFAULT_CATEGORY", "invalid_param", "crm_to_wc_datetime",
]
