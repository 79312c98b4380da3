"""The people in the documented cases, each speaking the API they would use.

The customer checks out on the site; the CRM manager works through the CRM's
API with a manager key (not the connector's); the shop admin uses WooCommerce's
REST API. The official clients from PyPI carry every call, so the fakes are
exercised exactly as a QA engineer's own scripts would exercise them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from faker import Faker
from woocommerce import API as WooApi

from sim.clients import KeepAliveRetailCrm, KeepAliveWoo
from sim.targets import HttpTarget


class ActorError(AssertionError):
    """An actor's call was refused; the message carries the API's own answer."""


@dataclass
class Product:
    id: int
    sku: str
    name: str


def woo_client(target: HttpTarget) -> WooApi:
    c = target.creds
    return KeepAliveWoo(url=c.shop_url, consumer_key=c.consumer_key, consumer_secret=c.consumer_secret, timeout=30)


def crm_client(target: HttpTarget, api_key: str) -> Any:
    return KeepAliveRetailCrm(target.creds.crm_url, api_key)


def _crm_answer(response: Any, action: str) -> dict[str, Any]:
    body = response.get_response()
    if not response.is_successful():
        raise ActorError(f"CRM refused to {action}: HTTP {response.get_status_code()} {body}")
    return body


def _woo_answer(response: Any, action: str) -> Any:
    if response.status_code >= 400:
        raise ActorError(f"shop refused to {action}: HTTP {response.status_code} {response.text[:300]}")
    return response.json()


class ShopAdmin:
    def __init__(self, target: HttpTarget, faker: Faker) -> None:
        self.api = woo_client(target)
        self.faker = faker

    def create_product(self, quantity: int) -> Product:
        name = self.faker.word().capitalize() + " " + self.faker.word()
        sku = self.faker.bothify("SKU-####")
        body = {"name": name, "type": "simple", "sku": sku, "regular_price": "500",
                "manage_stock": True, "stock_quantity": quantity}
        product = _woo_answer(self.api.post("products", body), "create a product")
        return Product(id=product["id"], sku=sku, name=name)

    def set_order_status(self, order_id: int, status: str) -> dict[str, Any]:
        return _woo_answer(self.api.put(f"orders/{order_id}", {"status": status}), f"set order {order_id} to {status}")

    def set_product_stock(self, product: Product, quantity: int) -> None:
        """Edit the product's stock by hand, as in the product screen (an absolute set)."""
        _woo_answer(self.api.put(f"products/{product.id}", {"stock_quantity": quantity}), f"set the stock of {product.sku}")

    def create_variable_product(self, quantities: list[int]) -> tuple[Product, list[Product]]:
        """A variable product (no stock of its own) with one variation per quantity, each managing its stock."""
        name = self.faker.word().capitalize() + " " + self.faker.word()
        sku = self.faker.bothify("VAR-####")
        colours = [f"colour {i + 1}" for i in range(len(quantities))]
        body = {"name": name, "type": "variable", "sku": sku,
                "attributes": [{"name": "Colour", "variation": True, "visible": True, "options": colours}]}
        parent = _woo_answer(self.api.post("products", body), "create a variable product")
        variations = [self._create_variation(parent["id"], name, sku, colour, quantity)
                      for colour, quantity in zip(colours, quantities)]
        return Product(id=parent["id"], sku=sku, name=name), variations

    def _create_variation(self, parent_id: int, name: str, sku: str, colour: str, quantity: int) -> Product:
        variation_sku = f"{sku}-{colour.split()[-1]}"
        body = {"sku": variation_sku, "regular_price": "500", "manage_stock": True, "stock_quantity": quantity,
                "attributes": [{"name": "Colour", "option": colour}]}
        created = _woo_answer(self.api.post(f"products/{parent_id}/variations", body), "create a variation")
        return Product(id=created["id"], sku=variation_sku, name=f"{name}, {colour}")

    def create_external_product(self) -> Product:
        """An external (affiliate) product: WooCommerce keeps no stock count for it."""
        name = self.faker.word().capitalize() + " " + self.faker.word()
        sku = self.faker.bothify("EXT-####")
        body = {"name": name, "type": "external", "sku": sku, "regular_price": "500",
                "external_url": "https://example.com/elsewhere", "button_text": "Buy elsewhere"}
        product = _woo_answer(self.api.post("products", body), "create an external product")
        return Product(id=product["id"], sku=sku, name=name)

    def change_sku(self, product: Product, sku: str) -> None:
        _woo_answer(self.api.put(f"products/{product.id}", {"sku": sku}), f"change the SKU of product {product.id}")


class Customer:
    def __init__(self, target: HttpTarget, faker: Faker) -> None:
        self.target = target
        self.faker = faker

    def checkout(self, product: Product, quantity: int, payment_method: str = "cod") -> dict[str, Any]:
        billing = {"first_name": self.faker.first_name(), "last_name": self.faker.last_name(),
                   "email": self.faker.email(), "phone": self.faker.numerify("+7900#######")}
        return self.target.checkout({"line_items": [{"product_id": product.id, "quantity": quantity}],
                                     "billing": billing, "payment_method": payment_method})


class CrmManager:
    def __init__(self, target: HttpTarget, faker: Faker) -> None:
        self.api = crm_client(target, target.creds.manager_key)
        self.site = target.creds.site
        self.faker = faker

    def create_order(self, product: Product, quantity: int) -> dict[str, Any]:
        order = {"firstName": self.faker.first_name(), "lastName": self.faker.last_name(),
                 "phone": self.faker.numerify("+7900#######"),
                 "items": [{"offer": {"externalId": str(product.id)}, "quantity": quantity}]}
        return _crm_answer(self.api.order_create(order, self.site), "create an order")["order"]

    def create_order_in_status(self, product: Product, quantity: int, status: str) -> dict[str, Any]:
        """An order created straight in a later status (e.g. a phone order entered as "complete")."""
        order = {"firstName": self.faker.first_name(), "lastName": self.faker.last_name(),
                 "phone": self.faker.numerify("+7900#######"), "status": status,
                 "items": [{"offer": {"externalId": str(product.id)}, "quantity": quantity}]}
        return _crm_answer(self.api.order_create(order, self.site), f"create an order in {status}")["order"]

    def set_order_status(self, crm_order_id: int, status: str) -> dict[str, Any]:
        answer = self.api.order_edit({"id": crm_order_id, "status": status}, "id", self.site)
        return _crm_answer(answer, f"set order {crm_order_id} to {status}")["order"]

    def set_item_status(self, crm_order_id: int, status: str) -> dict[str, Any]:
        """Give every item of the order an item status (the CRM's edit replaces the whole item list)."""
        order = _crm_answer(self.api.order(crm_order_id, "id", self.site), "read an order")["order"]
        items = [{"id": item["id"], "status": status} for item in order["items"]]
        answer = self.api.order_edit({"id": crm_order_id, "items": items}, "id", self.site)
        return _crm_answer(answer, f"set the items of order {crm_order_id} to {status}")["order"]

    def receive_stock(self, product: Product, quantity: int, store: str) -> None:
        offers = [{"externalId": str(product.id), "stores": [{"code": store, "available": quantity}]}]
        _crm_answer(self.api.inventories_upload(offers, self.site), "upload stock")

    def receive_stock_at(self, product: Product, quantities: dict[str, int]) -> None:
        """Absolute quantities for several warehouses in one upload, as a goods receipt leaves them."""
        stores = [{"code": store, "available": quantity} for store, quantity in quantities.items()]
        _crm_answer(self.api.inventories_upload([{"externalId": str(product.id), "stores": stores}], self.site),
                    "upload stock")


class StockObserver:
    """Reads the stock each system shows, through its public API."""

    def __init__(self, target: HttpTarget) -> None:
        self.woo = woo_client(target)
        self.crm = crm_client(target, target.creds.manager_key)
        self.products: list[Product] = []

    def watch(self, product: Product) -> None:
        self.products.append(product)

    def snapshot(self) -> dict[str, dict[str, int | None]]:
        if not self.products:
            return {}
        return {"crm": self.crm_stock(), "woo": self.woo_stock()}

    def woo_stock(self) -> dict[str, int | None]:
        skus = ",".join(p.sku for p in self.products)
        listed = _woo_answer(self.woo.get("products", params={"sku": skus, "per_page": 100}), "list products")
        by_id = {p["id"]: p.get("stock_quantity") for p in listed}
        return {p.sku: by_id.get(p.id) for p in self.products}

    def crm_stock(self) -> dict[str, int | None]:
        ids = [str(p.id) for p in self.products]
        body = _crm_answer(self.crm.inventories({"offerExternalId": ids}, limit=250), "read inventories")
        by_external = {o.get("externalId"): o.get("quantity") for o in body.get("offers", [])}
        return {p.sku: by_external.get(str(p.id)) for p in self.products}
