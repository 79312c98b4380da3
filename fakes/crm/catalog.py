"""ICML, the catalog format a RetailCRM site loads its offers from.

Only what a catalog import needs is read: each offer's id (the CRM's offer
``externalId``), its product, names, price, SKU and quantity.
"""

from __future__ import annotations

import gc
import xml.etree.ElementTree as ET
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

Number = int | float

# The WooCommerce module writes the SKU as <xmlId> and, in older versions, as
# a param; both spellings are read.
ARTICLE_PARAM_CODES = {"article"}
ARTICLE_PARAM_NAMES = {"Артикул", "Article"}


class IcmlError(ValueError):
    """The file is not an ICML catalog this fake can import."""


@dataclass(frozen=True)
class IcmlOffer:
    id: str
    name: str
    product_id: str | None = None
    product_name: str | None = None
    price: Number | None = None
    xml_id: str | None = None
    article: str | None = None
    quantity: Number | None = None


def parse_icml(text: str | bytes) -> list[IcmlOffer]:
    with _gc_paused():
        try:
            root = ET.fromstring(text)
        except ET.ParseError as exc:
            raise IcmlError(f"not well-formed XML: {exc}") from exc
        if root.tag != "yml_catalog" or root.find("shop") is None:
            raise IcmlError("root element must be <yml_catalog> with a <shop>")
        offers = root.findall("./shop/offers/offer")
        return [_offer(element, index) for index, element in enumerate(offers)]


@contextmanager
def _gc_paused() -> Iterator[None]:
    """A 10,000-offer catalog is ~130,000 elements, and allocating them set off full collections of
    the cyclic GC, each rescanning everything the process holds: the parse took 0.3 s early in a
    simulated month and over a second by its end. Elements form no cycles, so collecting is only
    put off until the parse is done (and left alone if someone else had turned it off)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _offer(element: ET.Element, index: int) -> IcmlOffer:
    offer_id = (element.get("id") or "").strip()
    if not offer_id:
        raise IcmlError(f"offer #{index} has no id attribute")
    product_name = _text(element, "productName")
    return IcmlOffer(
        id=offer_id,
        name=_text(element, "name") or product_name or offer_id,
        product_id=element.get("productId"),
        product_name=product_name,
        price=_number(_text(element, "price"), f"offer {offer_id}: price"),
        xml_id=_text(element, "xmlId"),
        article=_article(element),
        quantity=_number(element.get("quantity"), f"offer {offer_id}: quantity"),
    )


def _text(element: ET.Element, tag: str) -> str | None:
    child = element.find(tag)
    if child is None or child.text is None:
        return None
    return child.text.strip() or None


def _article(element: ET.Element) -> str | None:
    for param in element.findall("param"):
        if param.get("code") in ARTICLE_PARAM_CODES or param.get("name") in ARTICLE_PARAM_NAMES:
            return (param.text or "").strip() or None
    return None


def _number(raw: str | None, what: str) -> Number | None:
    if raw is None or not raw.strip():
        return None
    try:
        value = float(raw)
    except ValueError as exc:
        raise IcmlError(f"{what} is not a number: {raw!r}") from exc
    return int(value) if value.is_integer() else value
