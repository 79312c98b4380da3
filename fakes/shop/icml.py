"""The ICML catalog file (``simla.xml``) as the plugin's WC_Retailcrm_Icml writes it.

module-behaviour.md §3: one offer per simple/external/grouped product and per
variation (``productId`` = the parent), ``quantity`` = the stock when the
product manages it (a variation managed by its parent shows the parent's),
else 1/0 by ``stock_status``. The file is how Woo stock reaches the CRM.
"""

from __future__ import annotations

from typing import Any, Iterator
from xml.etree import ElementTree as ET

from fakes.shop.state import DEFAULT_CATEGORY, Product, ShopState, php_float

#: Offer keys the writer turns into child elements, in the plugin's order.
OFFER_PROPERTIES = ("name", "productName", "price", "purchasePrice", "vendor", "picture", "url", "xmlId",
                    "productActivity")


def write_catalog(state: ShopState, *, bind_by_sku: bool, home_url: str, generated_at: str) -> bytes:
    """The whole file, formatted as PHP's DOMDocument (formatOutput) saves it."""
    with state.lock:
        root = ET.Element("yml_catalog", {"date": generated_at})
        shop = ET.SubElement(root, "shop")
        ET.SubElement(shop, "name").text = str(state.settings.get("blogname", ""))
        _write_categories(ET.SubElement(shop, "categories"))
        offers = ET.SubElement(shop, "offers")
        for offer in catalog_offers(state, bind_by_sku=bind_by_sku, home_url=home_url):
            _write_offer(offers, offer)
    ET.indent(root, space="  ")
    body = ET.tostring(root, encoding="unicode", short_empty_elements=True)
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + body + "\n").encode("utf-8")


def catalog_offers(state: ShopState, *, bind_by_sku: bool, home_url: str) -> Iterator[dict[str, Any]]:
    """prepareOffers(): published products, newest first as wc_get_products() returns them."""
    products = [p for p in state.products.values() if p.type != "variation" and p.status == "publish"]
    products.sort(key=lambda p: (p.date_created, p.id), reverse=True)
    for product in products:
        if product.type == "variable":
            for child in state.variations_of(product.id):  # not the trashed ones
                yield _offer(state, child, product, bind_by_sku, home_url)
        else:
            yield _offer(state, product, None, bind_by_sku, home_url)


def offer_quantity(state: ShopState, product: Product) -> int:
    """getQuantity(): managed → stock (null → 0, negatives pass); else 1 if instock."""
    if state.stock_owner(product) is not None:
        return int(state.effective_stock_quantity(product) or 0)
    return 1 if product.stock_status == "instock" else 0


def _offer(state: ShopState, product: Product, parent: Product | None, bind_by_sku: bool,
           home_url: str) -> dict[str, Any]:
    owner = parent or product
    offer: dict[str, Any] = {
        "id": product.id,
        "productId": owner.id,
        "name": product.name,
        "productName": owner.name,
        "price": _php_price(product.price),
        "url": f"{home_url.rstrip('/')}/product/{owner.slug}/",
        "quantity": offer_quantity(state, product),
        "categoryId": list(owner.category_ids),
        "tax": "none",  # taxes are off in the simulated shop
        "type": "product",
    }
    params: list[dict[str, str]] = []
    if product.sku:
        params.append({"code": "article", "name": "Article", "value": product.sku})
        if bind_by_sku:
            offer["xmlId"] = product.sku
    if params:
        offer["params"] = params
    # clearArray(): '' and null go, zeros stay.
    return {k: v for k, v in offer.items() if v not in ("", None, [])}


def _write_categories(parent: ET.Element) -> None:
    category = ET.SubElement(parent, "category", {"id": str(DEFAULT_CATEGORY["id"])})
    ET.SubElement(category, "name").text = str(DEFAULT_CATEGORY["name"])


def _write_offer(parent: ET.Element, offer: dict[str, Any]) -> None:
    element = ET.SubElement(parent, "offer", {
        "id": str(offer["id"]), "productId": str(offer.get("productId") or offer["id"]),
        "quantity": str(int(offer.get("quantity", 0))), "type": offer["type"],
    })
    for category_id in offer.get("categoryId", []):
        ET.SubElement(element, "categoryId").text = str(category_id)
    offer.setdefault("name", "Untitled")
    offer.setdefault("productName", offer["name"])
    for key in offer:  # the plugin writes properties in the offer's own key order
        if key in OFFER_PROPERTIES:
            ET.SubElement(element, key).text = str(offer[key])
    for param in offer.get("params", []):
        ET.SubElement(element, "param", {"code": param["code"], "name": param["name"]}).text = param["value"]
    ET.SubElement(element, "vatRate").text = offer["tax"]


def _php_price(price: str) -> str:
    """wc_get_price_including_tax() as PHP prints a float: 100.0 → "100", 99.5 → "99.5"."""
    if price == "":
        return ""
    value = php_float(price)
    return str(int(value)) if value == int(value) else repr(value)
