"""The ICML catalog file (``simla.xml``) as the plugin's WC_Retailcrm_Icml writes it.

module-behaviour.md §3: one offer per simple/external/grouped product and per
variation (``productId`` = the parent), ``quantity`` = the stock when the
product manages it (a variation managed by its parent shows the parent's),
else 1/0 by ``stock_status``. The file is how Woo stock reaches the CRM.
"""

from __future__ import annotations

from typing import Any, Iterator
from xml.sax.saxutils import escape

from fakes.shop.state import DEFAULT_CATEGORY, Product, ShopState, php_float

#: Offer keys the writer turns into child elements, in the plugin's order.
OFFER_PROPERTIES = ("name", "productName", "price", "purchasePrice", "vendor", "picture", "url", "xmlId",
                    "productActivity")


def write_catalog(state: ShopState, *, bind_by_sku: bool, home_url: str, generated_at: str) -> bytes:
    """The whole file, formatted as PHP's DOMDocument (formatOutput) saves it.

    Written as text, element by element, in the layout ElementTree's ``indent`` + ``tostring``
    gave (the same bytes): building and serialising a tree cost ~0.4 s for 10,000 offers, and
    the plugin writes the file every 3 hours."""
    with state.lock:
        lines = ['<?xml version="1.0" encoding="UTF-8"?>', f"<yml_catalog{_attributes({'date': generated_at})}>",
                 "  <shop>", _leaf(4, "name", str(state.settings.get("blogname", ""))), "    <categories>",
                 f"      <category{_attributes({'id': str(DEFAULT_CATEGORY['id'])})}>",
                 _leaf(8, "name", str(DEFAULT_CATEGORY["name"])), "      </category>", "    </categories>"]
        offers = [_offer_xml(offer) for offer in catalog_offers(state, bind_by_sku=bind_by_sku, home_url=home_url)]
    lines += ["    <offers>", *offers, "    </offers>"] if offers else ["    <offers />"]
    lines += ["  </shop>", "</yml_catalog>", ""]
    return "\n".join(lines).encode("utf-8")


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


def _offer_xml(offer: dict[str, Any]) -> str:
    """One <offer> element, indented for its place in the file."""
    attributes = {"id": str(offer["id"]), "productId": str(offer.get("productId") or offer["id"]),
                  "quantity": str(int(offer.get("quantity", 0))), "type": offer["type"]}
    children = [_leaf(8, "categoryId", str(category_id)) for category_id in offer.get("categoryId", [])]
    offer.setdefault("name", "Untitled")
    offer.setdefault("productName", offer["name"])
    # the plugin writes properties in the offer's own key order
    children += [_leaf(8, key, str(offer[key])) for key in offer if key in OFFER_PROPERTIES]
    children += [_leaf(8, "param", param["value"], {"code": param["code"], "name": param["name"]})
                 for param in offer.get("params", [])]
    children.append(_leaf(8, "vatRate", offer["tax"]))
    return "\n".join([f"      <offer{_attributes(attributes)}>", *children, "      </offer>"])


def _leaf(indent: int, tag: str, text: str, attributes: dict[str, str] | None = None) -> str:
    """An element with text only; an empty one closes itself, as ElementTree writes it."""
    opening = f"{' ' * indent}<{tag}{_attributes(attributes) if attributes else ''}"
    return f"{opening}>{escape(text)}</{tag}>" if text else f"{opening} />"


def _attributes(attributes: dict[str, str]) -> str:
    return "".join(f' {name}="{escape(value, _ATTRIBUTE_ENTITIES)}"' for name, value in attributes.items())


#: What ElementTree escapes in an attribute value beyond &, < and >.
_ATTRIBUTE_ENTITIES = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#09;"}


def _php_price(price: str) -> str:
    """wc_get_price_including_tax() as PHP prints a float: 100.0 → "100", 99.5 → "99.5"."""
    if price == "":
        return ""
    value = php_float(price)
    return str(int(value)) if value == int(value) else repr(value)
