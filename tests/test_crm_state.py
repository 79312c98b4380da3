"""The fake RetailCRM's rules, without HTTP."""

from __future__ import annotations

import gc
import threading
from typing import Any

import pytest

from fakes.clock import Clock
from fakes.crm.catalog import IcmlError, IcmlOffer, parse_icml
from fakes.crm.state import (
    CONNECTOR_KEY, MANAGER_KEY, SITE_CODE, AccessDenied, CrmError, CrmState, EntityFormatError, HistoryFilter,
    InputError, InventoryFilter, NotFound, OrderFilter, OrderNotLoaded, SettingsError, paginate,
)

MODE_W = {"sites": {SITE_CODE: {"catalog_kept_in_system": False}}}


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def crm(clock: Clock) -> CrmState:
    """Mode C (the defaults) with two offers: 42 (10 at main) and 43 (5 at main)."""
    state = CrmState(clock)
    state.catalog_import(SITE_CODE, [IcmlOffer(id="42", name="Mug", xml_id="SKU-42", price=500),
                                     IcmlOffer(id="43", name="Cup", xml_id="SKU-43", price=300)])
    state.upload_inventories(CONNECTOR_KEY, [
        {"externalId": "42", "stores": [{"code": "main", "available": 10}]},
        {"externalId": "43", "stores": [{"code": "main", "available": 5}]},
    ], SITE_CODE)
    return state


def stock(crm: CrmState, external_id: str = "42", store: str = "main") -> Any:
    return crm.stock(crm.offer_id(external_id), store)


def create(crm: CrmState, key: str = CONNECTOR_KEY, **order: Any) -> dict[str, Any]:
    order.setdefault("items", [{"offer": {"externalId": "42"}, "quantity": 2}])
    return crm.create_order(key, order, SITE_CODE)


def history(crm: CrmState, key: str = CONNECTOR_KEY, **flt: Any) -> list[dict[str, Any]]:
    records, _ = crm.order_history(key, HistoryFilter(**flt), 100, 1)
    return records


def fields(records: list[dict[str, Any]]) -> list[tuple[str, str, Any, Any]]:
    return [(r["source"], r["field"], r["oldValue"], r["newValue"]) for r in records]


# -- stock kept in the CRM (mode C) -------------------------------------------

def test_order_writes_off_at_creation(crm: CrmState) -> None:
    order = create(crm)
    assert stock(crm) == 8
    assert order["items"][0]["status"] == "new"
    assert order["shipmentStore"] == "main"


def test_manager_order_is_written_off_in_mode_c(crm: CrmState) -> None:
    create(crm, MANAGER_KEY)
    assert stock(crm) == 8


def test_item_cancel_returns_and_uncancel_writes_off_again(crm: CrmState) -> None:
    order = create(crm, externalId="1")
    item_id = order["items"][0]["id"]
    crm.edit_order(CONNECTOR_KEY, "1", {"items": [{"id": item_id, "status": "failure"}]})
    assert stock(crm) == 10
    crm.edit_order(CONNECTOR_KEY, "1", {"items": [{"id": item_id, "status": "confirmed"}]})
    assert stock(crm) == 8


def test_quantity_change_moves_the_delta(crm: CrmState) -> None:
    order = create(crm, externalId="1")
    crm.edit_order(CONNECTOR_KEY, "1", {"items": [{"id": order["items"][0]["id"], "quantity": 5}]})
    assert stock(crm) == 5


def test_removed_item_returns_and_added_item_writes_off(crm: CrmState) -> None:
    create(crm, externalId="1")
    crm.edit_order(CONNECTOR_KEY, "1", {"items": [{"offer": {"xmlId": "SKU-43"}, "quantity": 1}]})
    assert (stock(crm, "42"), stock(crm, "43")) == (10, 4)


def test_items_match_by_external_ids(crm: CrmState) -> None:
    ext = [{"code": "woocomerce", "value": "42_7"}]
    create(crm, externalId="1", items=[{"offer": {"externalId": "42"}, "quantity": 2, "externalIds": ext}])
    order = crm.edit_order(CONNECTOR_KEY, "1", {"items": [{"externalIds": ext, "quantity": 3}]})
    assert len(order["items"]) == 1 and stock(crm) == 7


def test_complete_changes_nothing(crm: CrmState) -> None:
    create(crm, externalId="1")
    crm.edit_order(CONNECTOR_KEY, "1", {"status": "complete"})
    assert stock(crm) == 8


def test_cancel_with_auto_cancel_fails_items_and_returns_stock(crm: CrmState) -> None:
    create(crm, externalId="1")
    order = crm.edit_order(CONNECTOR_KEY, "1", {"status": "no-call"})
    assert stock(crm) == 10
    assert order["items"][0]["status"] == "failure"
    assert fields(history(crm, since_id=1)) == [
        ("api", "status", {"code": "new"}, {"code": "no-call"}),
        ("code", "order_product.status", {"code": "new"}, {"code": "failure"}),
    ]


def test_cancel_without_auto_cancel_keeps_stock_written_off(crm: CrmState) -> None:
    crm.update_settings({"auto_cancel_items": False})
    create(crm, externalId="1")
    order = crm.edit_order(CONNECTOR_KEY, "1", {"status": "cancel-other"})
    assert stock(crm) == 8
    assert order["items"][0]["status"] == "new"


def test_order_created_cancelled_is_never_written_off(crm: CrmState) -> None:
    create(crm, status="cancel-other")
    assert stock(crm) == 10


def test_broken_crm_does_not_return_cancelled_items(crm: CrmState) -> None:
    crm.update_settings({"item_cancel_returns_stock": False})
    order = create(crm, externalId="1")
    crm.edit_order(CONNECTOR_KEY, "1", {"items": [{"id": order["items"][0]["id"], "status": "returned"}]})
    assert stock(crm) == 8
    create(crm, externalId="2")
    crm.edit_order(CONNECTOR_KEY, "2", {"status": "cancel-other"})
    assert stock(crm) == 6


def test_shipment_store_change_moves_the_write_off(crm: CrmState) -> None:
    create(crm, externalId="1")
    crm.edit_order(CONNECTOR_KEY, "1", {"shipmentStore": "spb"})
    assert (stock(crm, store="main"), stock(crm, store="spb")) == (10, -2)


def test_stock_may_go_negative(crm: CrmState) -> None:
    create(crm, items=[{"offer": {"externalId": "43"}, "quantity": 7}])
    assert stock(crm, "43") == -2


# -- stock kept on the site (mode W) --------------------------------------------

def test_site_order_written_off_in_mode_w_by_default(crm: CrmState) -> None:
    crm.update_settings(MODE_W)
    create(crm)
    assert stock(crm) == 8


def test_site_order_not_written_off_when_only_catalog_import_moves_stock(crm: CrmState) -> None:
    crm.update_settings({**MODE_W, "write_off_site_orders_in_site_mode": False})
    create(crm)
    assert stock(crm) == 10


def test_manager_order_never_written_off_in_mode_w(crm: CrmState) -> None:
    crm.update_settings(MODE_W)
    create(crm, MANAGER_KEY, externalId="1")
    crm.edit_order(MANAGER_KEY, "1", {"status": "complete"})
    assert stock(crm) == 10


def test_tracking_is_decided_at_creation(crm: CrmState) -> None:
    create(crm, MANAGER_KEY, externalId="1")  # mode C: tracked
    crm.update_settings({"sites": {SITE_CODE: {"stock_editing": False}}})
    crm.edit_order(MANAGER_KEY, "1", {"status": "cancel-other"})
    assert stock(crm) == 10


# -- catalog import ---------------------------------------------------------------

def test_catalog_import_ignores_quantities_in_mode_c(crm: CrmState) -> None:
    result = crm.catalog_import(SITE_CODE, [IcmlOffer(id="42", name="Big mug", quantity=99),
                                            IcmlOffer(id="44", name="Plate", quantity=3)])
    assert result == {"site": SITE_CODE, "offers": 2, "created": 1, "quantities_applied": False}
    assert stock(crm) == 10 and stock(crm, "44") == 0


def test_catalog_import_overwrites_the_site_store_in_mode_w(crm: CrmState) -> None:
    crm.update_settings({"sites": {SITE_CODE: {"store": None}}})  # no store: mode W, "main"
    crm.upload_inventories(CONNECTOR_KEY, [{"externalId": "42", "stores": [{"code": "spb", "available": 4}]}], None)
    result = crm.catalog_import(SITE_CODE, [IcmlOffer(id="42", name="Mug", quantity=7)])
    assert result["quantities_applied"] is True
    assert (stock(crm, store="main"), stock(crm, store="spb")) == (7, 4)


def test_catalog_import_updates_offer_fields(crm: CrmState) -> None:
    crm.catalog_import(SITE_CODE, [IcmlOffer(id="42", name="Mug v2", xml_id="NEW-SKU", article="A1")])
    offers, _ = crm.inventories(CONNECTOR_KEY, InventoryFilter(offer_xml_ids=("NEW-SKU",)), False, 20, 1)
    assert [o["externalId"] for o in offers] == ["42"]


def test_catalog_import_of_unknown_site_is_not_found(crm: CrmState) -> None:
    with pytest.raises(NotFound):
        crm.catalog_import("other", [])


ICML = """<?xml version="1.0" encoding="UTF-8"?>
<yml_catalog date="2026-01-05 09:00:00"><shop><name>Shop</name><company>Shop</company>
<categories><category id="1">Mugs</category></categories>
<offers>
 <offer id="42" productId="42" quantity="10" type="product"><name>Mug</name><productName>Mug</productName>
  <price>500</price><xmlId>SKU-42</xmlId><categoryId>1</categoryId></offer>
 <offer id="41_7" productId="41" quantity="2.5"><productName>Tee</productName>
  <param name="Артикул" code="article">TEE-RED</param></offer>
</offers></shop></yml_catalog>"""


def test_parse_icml() -> None:
    assert parse_icml(ICML.encode()) == [
        IcmlOffer(id="42", name="Mug", product_id="42", product_name="Mug", price=500, xml_id="SKU-42",
                  quantity=10),
        IcmlOffer(id="41_7", name="Tee", product_id="41", product_name="Tee", article="TEE-RED", quantity=2.5),
    ]


@pytest.mark.parametrize("text", ["<yml_catalog>", "<catalog/>", "<yml_catalog><shop><offers><offer/></offers>"
                                  "</shop></yml_catalog>", '<yml_catalog><shop><offers><offer id="1" quantity="x"/>'
                                  "</offers></shop></yml_catalog>"])
def test_parse_icml_rejects_bad_files(text: str) -> None:
    with pytest.raises(IcmlError):
        parse_icml(text)
    assert gc.isenabled()  # the collector, paused for the parse, runs again after a refused file too


def test_parse_icml_leaves_a_paused_collector_paused() -> None:
    gc.disable()
    try:
        parse_icml(ICML.encode())
        assert not gc.isenabled()
    finally:
        gc.enable()


# -- validation -------------------------------------------------------------------

@pytest.mark.parametrize("order, error_field", [
    ({"items": [{"offer": {"externalId": "nope"}}]}, "items[0].offer"),
    ({"items": [{"offer": {}}]}, "items[0].offer"),
    ({"status": "lost"}, "status"),
    ({"status": ["new"]}, "status"),
    ({"shipmentStore": "moon"}, "shipmentStore"),
    ({"items": [{"offer": {"id": 1}, "quantity": 0}]}, "items[0].quantity"),
    ({"items": [{"offer": {"id": 1}, "status": "gone"}]}, "items[0].status"),
    ({"customer": {"externalId": "ghost"}}, "customer.externalId"),
    ({"createdAt": "yesterday"}, "createdAt"),
    ({"externalId": [1]}, "externalId"),
    ({"firstName": {"first": "Ann"}}, "firstName"),
])
def test_invalid_order_is_rejected_whole(crm: CrmState, order: dict[str, Any], error_field: str) -> None:
    with pytest.raises(OrderNotLoaded) as exc:
        crm.create_order(CONNECTOR_KEY, {"items": [], **order}, SITE_CODE)
    assert error_field in exc.value.errors
    assert crm.orders(CONNECTOR_KEY, OrderFilter(), 20, 1)[0] == []
    assert stock(crm) == 10 and history(crm) == []


def test_duplicate_external_id_is_rejected(crm: CrmState) -> None:
    create(crm, externalId=1001)  # PHP clients send numbers
    with pytest.raises(CrmError, match="Order already exists."):
        create(crm, externalId="1001")
    assert stock(crm) == 8


def test_edit_validation_changes_nothing(crm: CrmState) -> None:
    create(crm, externalId="1")
    with pytest.raises(OrderNotLoaded):
        crm.edit_order(CONNECTOR_KEY, "1", {"status": "complete", "items": [{"id": 999}]})
    assert crm.get_order(CONNECTOR_KEY, "1")["status"] == "new"


def test_edit_naming_an_unknown_position_reports_only_that(crm: CrmState) -> None:
    create(crm, externalId="1")
    with pytest.raises(OrderNotLoaded) as exc:
        crm.edit_order(CONNECTOR_KEY, "1", {"items": [{"id": 999, "quantity": 1}]})
    assert exc.value.errors == {"items[0].id": "Order product with id=999 not found."}


def test_unknown_order_is_not_found(crm: CrmState) -> None:
    with pytest.raises(NotFound):
        crm.edit_order(CONNECTOR_KEY, "nope", {"status": "complete"})
    with pytest.raises(NotFound):
        crm.get_order(CONNECTOR_KEY, "abc", by="id")


def test_site_access(crm: CrmState) -> None:
    with pytest.raises(AccessDenied):
        crm.create_order(CONNECTOR_KEY, {}, "other-site")
    with pytest.raises(InputError):
        crm.inventories(CONNECTOR_KEY, InventoryFilter(sites=("other-site",)), False, 20, 1)


def test_upload_rejects_unknown_store_and_reports_unknown_offers(crm: CrmState) -> None:
    with pytest.raises(EntityFormatError) as exc:
        crm.upload_inventories(CONNECTOR_KEY, [{"externalId": "42", "stores": [{"code": "moon"}]}], None)
    assert "offers[0].stores[0].code" in exc.value.errors
    processed, not_found = crm.upload_inventories(CONNECTOR_KEY, [
        {"xmlId": "SKU-42", "stores": [{"code": "spb", "available": 3, "purchasePrice": 12.5}]},
        {"externalId": "999", "stores": []}], None)
    assert (processed, not_found) == (1, [{"externalId": "999"}])
    assert (stock(crm, store="main"), stock(crm, store="spb")) == (10, 3)


# -- history -------------------------------------------------------------------------

def test_creation_record_carries_the_full_order(crm: CrmState, clock: Clock) -> None:
    clock.set(90)
    create(crm, externalId="1")
    [record] = history(crm)
    assert record["created"] is True and record["createdAt"] == "2026-01-05 09:01:30"
    assert (record["field"], record["oldValue"], record["newValue"]) == ("status", None, {"code": "new"})
    assert record["order"]["items"][0]["offer"] == {"id": 1, "externalId": "42", "xmlId": "SKU-42", "name": "Mug"}
    assert record["apiKey"] == {"current": True}
    assert history(crm, MANAGER_KEY)[0]["apiKey"] == {"current": False}


def test_item_records_and_compact_order(crm: CrmState) -> None:
    order = create(crm, externalId="1")
    old_item = order["items"][0]
    edited = crm.edit_order(CONNECTOR_KEY, "1", {"items": [{"offer": {"externalId": "43"}}]})
    new_item = edited["items"][0]
    removed, added = history(crm, since_id=1)
    assert removed["field"] == added["field"] == "order_product"
    assert removed["oldValue"] == {"id": old_item["id"], "offer": {"id": 1, "externalId": "42", "xmlId": "SKU-42"}}
    assert removed["newValue"] is None and added["oldValue"] is None
    assert added["item"] == added["newValue"] == {"id": new_item["id"],
                                                  "offer": {"id": 2, "externalId": "43", "xmlId": "SKU-43"}}
    assert added["order"] == {"id": 1, "externalId": "1", "site": SITE_CODE, "status": "new"}


def test_quantity_and_status_records(crm: CrmState) -> None:
    order = create(crm, externalId="1")
    item_id = order["items"][0]["id"]
    crm.edit_order(CONNECTOR_KEY, "1", {"items": [{"id": item_id, "quantity": 3, "status": "failure"}]})
    assert fields(history(crm, since_id=1)) == [
        ("api", "order_product.quantity", 2, 3),
        ("api", "order_product.status", {"code": "new"}, {"code": "failure"}),
    ]


def test_no_op_edit_emits_nothing(crm: CrmState) -> None:
    order = create(crm, externalId="1", firstName="Ann")
    item = order["items"][0]
    crm.edit_order(CONNECTOR_KEY, "1", {"externalId": "1", "status": "new", "firstName": "Ann",
                                        "items": [{"id": item["id"], "quantity": 2, "status": "new"}]})
    assert len(history(crm)) == 1


def test_fix_external_ids_records_external_id(crm: CrmState) -> None:
    order = create(crm, MANAGER_KEY)
    crm.fix_external_ids(CONNECTOR_KEY, [{"id": order["id"], "externalId": "77"}])
    crm.fix_external_ids(CONNECTOR_KEY, [{"id": order["id"], "externalId": "77"}])  # idempotent
    [record] = history(crm, since_id=1)
    assert (record["field"], record["oldValue"], record["newValue"]) == ("external_id", None, "77")
    assert record["order"]["externalId"] == "77"
    assert [r["id"] for r in history(crm, entity_external_id="77")] == [1, 2]


def test_an_order_answer_shares_nothing_with_the_stored_order(crm: CrmState) -> None:
    """The answer is built fresh except the fields kept verbatim, which are copied: changing an
    answer (as a caller or the history's snapshot might) never changes the order."""
    created = create(crm, externalId="A", delivery={"cost": 100, "address": {"text": "Moscow"}},
                     payments=[{"type": "cash", "amount": 100}], customFields={"tags": ["vip"]})
    created["delivery"]["address"]["text"] = "changed"
    created["customFields"]["tags"].append("changed")
    next(iter(created["payments"].values()))["amount"] = 0
    created["items"][0]["offer"]["externalId"] = "changed"
    created["customer"]["phones"].append({"number": "changed"})
    again = crm.get_order(CONNECTOR_KEY, "A")
    assert again["delivery"]["address"]["text"] == "Moscow" and again["customFields"]["tags"] == ["vip"]
    assert next(iter(again["payments"].values()))["amount"] == 100
    assert again["items"][0]["offer"]["externalId"] == "42" and again["customer"]["phones"] == []


def test_orders_are_found_by_their_external_id_as_it_changes(crm: CrmState) -> None:
    """Lookups by externalId go through an index; every way an externalId changes keeps it true."""
    first = create(crm, externalId="A")
    second = create(crm, MANAGER_KEY)
    crm.edit_order(CONNECTOR_KEY, "A", {"externalId": "B"})
    crm.fix_external_ids(CONNECTOR_KEY, [{"id": second["id"], "externalId": "A"}])
    assert crm.get_order(CONNECTOR_KEY, "B")["id"] == first["id"]
    assert crm.get_order(CONNECTOR_KEY, "A")["id"] == second["id"]
    with pytest.raises(CrmError, match="Order already exists."):
        create(crm, externalId="B")
    crm.edit_order(CONNECTOR_KEY, "B", {"externalId": "C"})
    create(crm, externalId="B")  # free again
    assert crm.get_order(CONNECTOR_KEY, "C")["id"] == first["id"]


def test_history_filters_and_paginates_filtered_records(crm: CrmState, clock: Clock) -> None:
    for n in range(5):
        clock.set(n * 60)
        create(crm, externalId=str(n))
    records, pagination = crm.order_history(CONNECTOR_KEY, HistoryFilter(since_id=2), 20, 1)
    assert [r["id"] for r in records] == [3, 4, 5]
    assert pagination == {"limit": 20, "totalCount": 3, "currentPage": 1, "totalPageCount": 1}
    window = HistoryFilter(start_date="2026-01-05 09:01:00", end_date="2026-01-05 09:02:00")
    assert [r["id"] for r in crm.order_history(CONNECTOR_KEY, window, 20, 1)[0]] == [2, 3]
    assert [r["id"] for r in history(crm, entity_id=4)] == [4]


def test_customer_is_created_with_the_order(crm: CrmState) -> None:
    order = create(crm, firstName="Ann", lastName="Lee", email="ann@example.com", phone="+7900")
    records, _ = crm.customer_history(CONNECTOR_KEY, HistoryFilter(), 20, 1)
    [record] = records
    assert (record["created"], record["field"], record["newValue"]) == (True, "id", order["customer"]["id"])
    assert record["customer"]["phones"] == [{"number": "+7900"}]
    again = create(crm, customer={"id": order["customer"]["id"]})
    assert again["customer"]["email"] == "ann@example.com"


# -- settings and references ---------------------------------------------------------------

def test_settings_merge_partially_and_reset(crm: CrmState) -> None:
    crm.update_settings({"sites": {SITE_CODE: {"yml_url": "http://127.0.0.1:1/simla.xml"}}})
    settings = crm.settings()
    assert settings["sites"][SITE_CODE] == {"catalog_kept_in_system": True, "store": "main",
                                            "stock_editing": True, "yml_url": "http://127.0.0.1:1/simla.xml"}
    assert crm.sites_json(CONNECTOR_KEY)[SITE_CODE]["ymlUrl"] == "http://127.0.0.1:1/simla.xml"
    crm.reset()
    assert crm.settings()["sites"][SITE_CODE]["yml_url"] is None
    assert crm.orders(CONNECTOR_KEY, OrderFilter(), 20, 1)[1]["totalCount"] == 0


@pytest.mark.parametrize("patch", [
    [], {"auto_cancel_items": 1}, {"nope": True}, {"sites": {"other": {}}},
    {"sites": {SITE_CODE: {"store": "moon"}}}, {"sites": {SITE_CODE: {"stock_editing": "yes"}}},
])
def test_bad_settings_are_rejected_and_change_nothing(crm: CrmState, patch: Any) -> None:
    before = crm.settings()
    with pytest.raises(SettingsError):
        crm.update_settings(patch)
    assert crm.settings() == before


def test_load_from_yml_mirrors_catalog_kept_in_system(crm: CrmState) -> None:
    assert crm.sites_json(CONNECTOR_KEY)[SITE_CODE]["loadFromYml"] is False
    crm.update_settings(MODE_W)
    assert crm.sites_json(CONNECTOR_KEY)[SITE_CODE]["loadFromYml"] is True


def test_product_statuses_expose_auto_cancel(crm: CrmState) -> None:
    assert crm.product_statuses_json()["failure"]["orderStatusByProductStatus"] == "cancel-other"
    crm.update_settings({"auto_cancel_items": False})
    assert "orderStatusByProductStatus" not in crm.product_statuses_json()["failure"]


def test_inventories_sorting_and_empty_pagination(crm: CrmState) -> None:
    crm.catalog_import(SITE_CODE, [IcmlOffer(id="44", name="Plate")])  # no xmlId
    offers, _ = crm.inventories(CONNECTOR_KEY, InventoryFilter(), True, 20, 1)
    assert [o["id"] for o in offers] == [3, 2, 1]
    assert offers[0] == {"id": 3, "externalId": "44", "site": SITE_CODE, "quantity": 0, "stores": []}
    assert paginate([], 250, 1) == ([], {"limit": 250, "totalCount": 0, "currentPage": 1, "totalPageCount": 0})
    assert paginate(list(range(5)), 2, 3) == ([4], {"limit": 2, "totalCount": 5, "currentPage": 3,
                                                     "totalPageCount": 3})


def test_inventories_entries_follow_every_stock_and_offer_change(crm: CrmState) -> None:
    """Entries are rendered once and kept (issue 9); each kind of write must show on the next read."""
    def entry(details: bool = True) -> dict[str, Any]:
        offers, _ = crm.inventories(CONNECTOR_KEY, InventoryFilter(offer_external_ids=("42",)), details, 20, 1)
        return offers[0]

    assert entry()["quantity"] == 10 and entry(False) == {"id": 1, "externalId": "42", "xmlId": "SKU-42",
                                                          "site": SITE_CODE, "quantity": 10}
    order = create(crm, externalId="501")  # a write-off
    assert entry()["quantity"] == 8 and entry(False)["quantity"] == 8
    crm.edit_order(CONNECTOR_KEY, order["externalId"], {"status": "cancel-other"})  # returned
    assert entry()["stores"] == [{"store": "main", "quantity": 10, "purchasePrice": 0}]
    crm.upload_inventories(CONNECTOR_KEY, [{"externalId": "42", "stores": [{"code": "spb", "available": 4}]}], None)
    assert entry()["quantity"] == 14 and [s["store"] for s in entry()["stores"]] == ["main", "spb"]
    crm.catalog_import(SITE_CODE, [IcmlOffer(id="42", name="Mug", xml_id="SKU-42-NEW", price=500)])
    assert entry()["xmlId"] == "SKU-42-NEW"
    crm.update_settings({"stores": {"msk": "Moscow"}})
    crm.upload_inventories(CONNECTOR_KEY, [{"externalId": "42", "stores": [{"code": "msk", "available": 1}]}], None)
    assert entry()["quantity"] == 15
    crm.reset()
    offers, _ = crm.inventories(CONNECTOR_KEY, InventoryFilter(), True, 20, 1)
    assert offers == []


# -- concurrency -----------------------------------------------------------------------------

def test_concurrent_orders_conserve_stock(crm: CrmState) -> None:
    crm.upload_inventories(CONNECTOR_KEY, [{"externalId": "42", "stores": [{"code": "main", "available": 1000}]}],
                           None)
    threads, per_thread = 8, 25

    def worker(n: int) -> None:
        for i in range(per_thread):
            order = create(crm, externalId=f"{n}-{i}", items=[{"offer": {"externalId": "42"}, "quantity": 3}])
            if i % 5 == 0:
                crm.edit_order(CONNECTOR_KEY, order["externalId"], {"status": "cancel-other"})

    workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    cancelled = threads * len(range(0, per_thread, 5))
    assert stock(crm) == 1000 - 3 * (threads * per_thread - cancelled)
    # One creation record per order, and a status plus an item record per cancel.
    expected = threads * per_thread + 2 * cancelled
    ids = [r["id"] for page in (1, 2, 3) for r in crm.order_history(CONNECTOR_KEY, HistoryFilter(), 100, page)[0]]
    assert ids == list(range(1, expected + 1))
