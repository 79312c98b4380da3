"""WooCommerce's core stock rules in ShopState (woocommerce.md §3), without HTTP."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from fakes.clock import Clock
from fakes.shop.state import (
    CHECKOUT_PROCESSED, NEW_ORDER, ORDER_UPDATED, LineInput, RequestScope, ShopError, ShopState, _intval,
)


@pytest.fixture
def shop() -> ShopState:
    return ShopState(Clock())


def simple(shop: ShopState, qty: int | None = 10, **fields: Any) -> int:
    fields = {"name": "Mug", "regular_price": "100", "manage_stock": qty is not None, "stock_quantity": qty, **fields}
    return shop.create_product(**fields).id


def stock(shop: ShopState, product_id: int) -> int | None:
    return shop.products[product_id].stock_quantity


def rest_order(shop: ShopState, product_id: int, qty: int = 2, **kw: Any) -> int:
    return shop.create_order(line_items=[LineInput(product_id=product_id, quantity=qty)], **kw).id


class Recorder:
    """A listener that notes actions, whether the lock was free, and shutdowns."""

    def __init__(self, shop: ShopState) -> None:
        self.shop = shop
        self.actions: list[tuple[str, int, bool]] = []
        self.shutdowns: list[dict[str, int]] = []

    def on_action(self, scope: RequestScope, action: str, order_id: int) -> None:
        # An RLock is re-entrant for its owner, so ask from another thread.
        self.actions.append((action, order_id, _free_from_other_thread(self.shop.lock)))

    def on_shutdown(self, scope: RequestScope) -> None:
        self.shutdowns.append(dict(scope.actions))


def _free_from_other_thread(lock: Any) -> bool:
    result: list[bool] = []
    thread = threading.Thread(target=lambda: result.append(lock.acquire(timeout=0.5) and (lock.release() or True)))
    thread.start()
    thread.join()
    return result[0]


# ----------------------------------------------------------------------- stock status (§3.5)
@pytest.mark.parametrize("qty, backorders, expected", [
    (5, "no", "instock"), (0, "no", "outofstock"), (-1, "no", "outofstock"),
    (0, "notify", "onbackorder"), (0, "yes", "onbackorder"),
])
def test_status_is_derived_from_quantity_on_every_save(shop: ShopState, qty: int, backorders: str,
                                                       expected: str) -> None:
    pid = simple(shop, qty, backorders=backorders, stock_status="instock")
    assert shop.products[pid].stock_status == expected


def test_a_sent_status_is_overridden_when_stock_is_managed(shop: ShopState) -> None:
    pid = simple(shop, 3)
    shop.update_product(pid, {"stock_status": "outofstock"})
    assert shop.products[pid].stock_status == "instock"


def test_notify_no_stock_amount_moves_the_threshold(shop: ShopState) -> None:
    shop.update_settings({"woocommerce_notify_no_stock_amount": 2})
    pid = simple(shop, 2)
    assert shop.products[pid].stock_status == "outofstock"


def test_unmanaged_product_keeps_its_status_and_has_no_quantity(shop: ShopState) -> None:
    pid = simple(shop, None, stock_status="outofstock")
    assert (stock(shop, pid), shop.products[pid].stock_status) == (None, "outofstock")


def test_global_stock_management_off_ignores_rest_stock_fields(shop: ShopState) -> None:
    pid = simple(shop, 10)
    shop.update_settings({"woocommerce_manage_stock": "no"})
    shop.update_product(pid, {"stock_quantity": 3})
    assert stock(shop, pid) == 10


def test_duplicate_sku_is_rejected(shop: ShopState) -> None:
    simple(shop, 1, sku="A-1")
    with pytest.raises(ShopError) as error:
        simple(shop, 1, sku="A-1")
    assert error.value.code == "product_invalid_sku"


def test_set_stock_is_absolute_and_turns_management_on(shop: ShopState) -> None:
    pid = simple(shop, None)
    assert shop.set_stock(pid, 7.9, source="test") == 7
    assert shop.products[pid].manage_stock and shop.products[pid].stock_status == "instock"
    assert shop.stock_events[-1]["op"] == "set"


# ----------------------------------------------------------------------- transitions (§3.2)
WORKED = [
    # (statuses walked after creating a pending order for 2 of 10, stock after each step)
    (["processing"], [8]),                               # pending→processing reduces
    (["processing", "completed"], [8, 8]),               # flag already set
    (["processing", "cancelled"], [8, 10]),              # restore
    (["processing", "cancelled", "processing"], [8, 10, 8]),  # reduce again
    (["on-hold", "processing"], [8, 8]),                 # on-hold→processing: nothing
    (["processing", "pending"], [8, 10]),                # →pending restores
    (["cancelled"], [10]),                               # pending→cancelled: nothing to restore
    (["processing", "refunded"], [8, 8]),                # refunded keeps the reduction
    (["processing", "refunded", "cancelled"], [8, 8, 10]),  # flag still true
    (["failed", "processing"], [10, 8]),                 # failed→processing reduces
    (["processing", "processing"], [8, 8]),              # same status: no transition
]


@pytest.mark.parametrize("path, expected", WORKED, ids=["->".join(p) for p, _ in WORKED])
def test_worked_transitions(shop: ShopState, path: list[str], expected: list[int]) -> None:
    pid = simple(shop, 10)
    oid = rest_order(shop, pid)
    assert stock(shop, pid) == 10
    seen = []
    for status in path:
        shop.update_order(oid, status=status)
        seen.append(stock(shop, pid))
    assert seen == expected


def test_reduction_records_the_amount_and_restore_returns_it_not_the_current_quantity(shop: ShopState) -> None:
    pid = simple(shop, 10)
    oid = rest_order(shop, pid, 2, status="processing")
    item = shop.orders[oid].line_items[0]
    assert (item.reduced_stock, shop.orders[oid].stock_reduced) == (2, True)
    shop.update_order_item(oid, item.id, quantity=5)  # the plugin's history edit: no stock effect
    shop.update_order(oid, status="cancelled")
    assert stock(shop, pid) == 10
    assert (item.reduced_stock, shop.orders[oid].stock_reduced) == (None, False)


def test_no_sufficient_stock_check_outside_checkout(shop: ShopState) -> None:
    pid = simple(shop, 1)
    rest_order(shop, pid, 3, status="processing")
    assert stock(shop, pid) == -2
    assert shop.products[pid].stock_status == "outofstock"


def test_flag_is_set_even_when_stock_management_is_off(shop: ShopState) -> None:
    pid = simple(shop, 10)
    shop.update_settings({"woocommerce_manage_stock": "no"})
    oid = rest_order(shop, pid, status="processing")
    assert shop.orders[oid].stock_reduced and stock(shop, pid) == 10


def test_unmanaged_products_are_skipped(shop: ShopState) -> None:
    pid = simple(shop, None)
    oid = rest_order(shop, pid, status="completed")
    assert shop.orders[oid].stock_reduced and shop.orders[oid].line_items[0].reduced_stock is None


def test_variation_managed_by_parent_reduces_the_parent(shop: ShopState) -> None:
    parent = shop.create_product(type="variable", name="Shirt", manage_stock=True, stock_quantity=10)
    red = shop.create_product(type="variation", parent_id=parent.id, name="Shirt - Red", regular_price="50")
    assert shop.managed_by_parent(red) and shop.effective_stock_quantity(red) == 10
    shop.create_order(status="processing", line_items=[LineInput(variation_id=red.id, quantity=3)])
    assert (parent.stock_quantity, red.stock_quantity) == (7, None)


def test_variable_parent_without_stock_takes_its_status_from_children(shop: ShopState) -> None:
    parent = shop.create_product(type="variable", name="Shirt")
    shop.create_product(type="variation", parent_id=parent.id, name="S", regular_price="5",
                        manage_stock=True, stock_quantity=1)
    assert parent.stock_status == "instock"
    shop.create_order(status="processing", line_items=[LineInput(variation_id=parent.children[0], quantity=1)])
    assert parent.stock_status == "outofstock"


# ----------------------------------------------------------------------- REST create (§3.3)
@pytest.mark.parametrize("kwargs, expected_status, expected_stock", [
    ({}, "pending", 10),
    ({"status": "processing"}, "processing", 8),
    ({"status": "on-hold"}, "on-hold", 8),
    ({"status": "completed"}, "completed", 8),
    ({"status": "cancelled"}, "cancelled", 10),
    ({"status": "failed"}, "failed", 10),
    ({"status": "refunded"}, "refunded", 10),
    ({"set_paid": True}, "processing", 8),
    ({"status": "on-hold", "set_paid": True}, "processing", 8),
    ({"status": "completed", "set_paid": True}, "completed", 8),
])
def test_rest_create_rows(shop: ShopState, kwargs: dict[str, Any], expected_status: str,
                          expected_stock: int) -> None:
    pid = simple(shop, 10)
    oid = rest_order(shop, pid, **kwargs)
    assert (shop.orders[oid].status, stock(shop, pid)) == (expected_status, expected_stock)


def test_set_paid_sets_date_paid(shop: ShopState) -> None:
    oid = rest_order(shop, simple(shop, 10), set_paid=True)
    assert shop.orders[oid].date_paid is not None


def test_unknown_product_on_a_rest_line_gives_product_id_zero(shop: ShopState) -> None:
    oid = shop.create_order(status="processing", line_items=[LineInput(product_id=999, quantity=1)]).id
    assert shop.orders[oid].line_items[0].product_id == 0


def test_a_line_without_a_product_reference_fails_before_anything_is_created(shop: ShopState) -> None:
    with pytest.raises(ShopError) as error:
        shop.create_order(line_items=[LineInput(quantity=1)])
    assert error.value.code == "woocommerce_rest_required_product_reference" and not shop.orders


# ----------------------------------------------------------------------- line edits (§3.4)
def test_new_line_on_a_reduced_order_is_never_reduced_or_restored(shop: ShopState) -> None:
    a, b = simple(shop, 10, sku="A"), simple(shop, 10, sku="B")
    oid = rest_order(shop, a, 1, status="processing")
    shop.update_order(oid, line_items=[LineInput(product_id=b, quantity=4)])
    shop.update_order(oid, status="completed")
    shop.update_order(oid, status="cancelled")
    assert (stock(shop, a), stock(shop, b)) == (10, 10)


def test_line_quantity_change_moves_stock_only_for_reduced_statuses(shop: ShopState) -> None:
    pid = simple(shop, 10)
    oid = rest_order(shop, pid, 2, status="processing")
    item_id = shop.orders[oid].line_items[0].id
    shop.update_order(oid, line_items=[LineInput(id=item_id, quantity=5)])
    assert stock(shop, pid) == 5 and shop.orders[oid].line_items[0].reduced_stock == 5
    pending = rest_order(shop, pid, 2)
    shop.update_order(pending, line_items=[LineInput(id=shop.orders[pending].line_items[0].id, quantity=4)])
    assert stock(shop, pid) == 5


def test_ungated_line_adjustment_takes_stock_on_a_pending_order(shop: ShopState) -> None:
    shop.update_settings({"stocksim_gate_line_item_stock": "no"})
    pid = simple(shop, 10)
    oid = rest_order(shop, pid, 2)
    shop.update_order(oid, line_items=[LineInput(id=shop.orders[oid].line_items[0].id, quantity=3)])
    assert stock(shop, pid) == 7 and shop.orders[oid].stock_reduced


def test_removing_a_line_restores_what_it_took(shop: ShopState) -> None:
    pid = simple(shop, 10)
    oid = rest_order(shop, pid, 2, status="processing")
    shop.update_order(oid, line_items=[LineInput(id=shop.orders[oid].line_items[0].id, remove=True)])
    assert stock(shop, pid) == 10 and not shop.orders[oid].line_items


def test_unknown_line_id_is_rejected_without_changes(shop: ShopState) -> None:
    pid = simple(shop, 10)
    oid = rest_order(shop, pid)
    with pytest.raises(ShopError) as error:
        shop.update_order(oid, status="processing", line_items=[LineInput(id=999, quantity=1)])
    assert error.value.code == "woocommerce_rest_invalid_item_id"
    assert shop.orders[oid].status == "pending" and stock(shop, pid) == 10


# ----------------------------------------------------------------------- programmatic create (§5.5)
def test_programmatic_create_with_a_reducing_status_flags_the_empty_order(shop: ShopState) -> None:
    pid = simple(shop, 10)
    order = shop.create_order_programmatic(status="completed")
    assert order.stock_reduced and order.status == "completed"
    shop.add_order_item(order.id, pid, 2)
    shop.update_order_status(order.id, "processing")
    shop.update_order_status(order.id, "cancelled")
    assert stock(shop, pid) == 10  # never reduced, never restored


def test_programmatic_pending_order_reduces_when_completed_later(shop: ShopState) -> None:
    pid = simple(shop, 10)
    order = shop.create_order_programmatic(status="pending")
    shop.add_order_item(order.id, pid, 2)
    assert stock(shop, pid) == 10 and not order.stock_reduced
    shop.update_order_status(order.id, "completed")
    assert stock(shop, pid) == 8


def test_update_status_with_an_unknown_status_falls_back_to_pending(shop: ShopState) -> None:
    pid = simple(shop, 10)
    oid = rest_order(shop, pid, status="processing")
    shop.update_order_status(oid, "no-such-status")
    assert shop.orders[oid].status == "pending" and stock(shop, pid) == 10


# ----------------------------------------------------------------------- checkout (§3.6)
@pytest.mark.parametrize("gateway, status, expected_stock", [
    ("cod", "processing", 8), ("bacs", "on-hold", 8), ("cheque", "on-hold", 8), ("stripe", "pending", 10),
])
def test_checkout_gateways(shop: ShopState, gateway: str, status: str, expected_stock: int) -> None:
    pid = simple(shop, 10)
    order = shop.checkout([LineInput(product_id=pid, quantity=2)], {"email": "a@b.c"}, gateway)
    assert (order.status, order.created_via, stock(shop, pid)) == (status, "checkout", expected_stock)


def test_checkout_hold_blocks_other_checkouts_until_it_expires(shop: ShopState) -> None:
    pid = simple(shop, 3)
    shop.checkout([LineInput(product_id=pid, quantity=2)], {}, "stripe")
    assert shop.held_stock(pid) == 2 and stock(shop, pid) == 3
    with pytest.raises(ShopError) as error:
        shop.checkout([LineInput(product_id=pid, quantity=2)], {}, "cod")
    assert error.value.code == "woocommerce_product_not_enough_stock"
    shop.clock.set(61 * 60)
    assert shop.checkout([LineInput(product_id=pid, quantity=2)], {}, "cod").status == "processing"


def test_a_hold_ends_when_its_order_is_paid_cancelled_or_deleted(shop: ShopState) -> None:
    """Holds are read from the orders that hold stock only; every way a hold ends must end it there."""
    pid = simple(shop, 10)
    paid, cancelled, deleted = (shop.checkout([LineInput(product_id=pid, quantity=n)], {}, "stripe") for n in (1, 2, 3))
    assert shop.held_stock(pid) == 6
    shop.update_order_status(paid.id, "processing")
    shop.update_order_status(cancelled.id, "cancelled")
    assert shop.held_stock(pid) == 3
    shop.delete_order(deleted.id, force=True)
    assert shop.held_stock(pid) == 0


def test_checkout_refuses_out_of_stock_and_unknown_products(shop: ShopState) -> None:
    pid = simple(shop, 0)
    with pytest.raises(ShopError) as error:
        shop.checkout([LineInput(product_id=pid, quantity=1)], {}, "cod")
    assert error.value.code == "woocommerce_rest_product_out_of_stock"
    with pytest.raises(ShopError) as error:
        shop.checkout([LineInput(product_id=999, quantity=1)], {}, "cod")
    assert error.value.status == 400 and not shop.orders


# ----------------------------------------------------------------------- hooks and request scope
def test_actions_reach_listeners_with_the_lock_free_and_shutdown_ends_the_request(shop: ShopState) -> None:
    recorder = Recorder(shop)
    shop.add_listener(recorder)
    pid = simple(shop, 10)
    recorder.shutdowns.clear()
    with shop.request():
        order = shop.checkout([LineInput(product_id=pid, quantity=1)], {}, "cod")
        assert recorder.shutdowns == []  # one request, however many saves
    assert [a[:2] for a in recorder.actions] == [(NEW_ORDER, order.id), (CHECKOUT_PROCESSED, order.id),
                                                 (ORDER_UPDATED, order.id)]
    assert all(free for _, _, free in recorder.actions)
    assert recorder.shutdowns == [{NEW_ORDER: 1, CHECKOUT_PROCESSED: 1, ORDER_UPDATED: 1}]


def test_each_call_outside_a_request_is_its_own_request(shop: ShopState) -> None:
    recorder = Recorder(shop)
    shop.add_listener(recorder)
    oid = rest_order(shop, simple(shop, 10))
    shop.update_order(oid, status="processing")
    shop.update_order(oid, status="processing")  # no change: no update action
    assert recorder.shutdowns[-3:] == [{NEW_ORDER: 1}, {ORDER_UPDATED: 1}, {}]
    assert recorder.actions[-1] == (ORDER_UPDATED, oid, True)


def test_failed_mutation_fires_nothing(shop: ShopState) -> None:
    recorder = Recorder(shop)
    shop.add_listener(recorder)
    with pytest.raises(ShopError):
        shop.update_order(12345, status="processing")
    assert recorder.actions == []


def test_reset_keeps_the_home_url(shop: ShopState) -> None:
    shop.update_settings({"home_url": "http://shop.test", "woocommerce_manage_stock": "no"})
    simple(shop, 1)
    shop.reset()
    assert shop.settings["home_url"] == "http://shop.test" and shop.global_manage_stock and not shop.products
    assert simple(shop, 1) == 10


# ----------------------------------------------------------------------- deletes and the trash
def test_forced_delete_of_a_variable_product_takes_its_variations_along(shop: ShopState) -> None:
    parent = shop.create_product(type="variable", name="Shirt")
    red = shop.create_product(type="variation", parent_id=parent.id, name="Red", regular_price="5")
    shop.delete_product(parent.id, force=True)
    assert parent.id not in shop.products and red.id not in shop.products


def test_deleting_a_variation_resyncs_the_parent_status(shop: ShopState) -> None:
    parent = shop.create_product(type="variable", name="Shirt")
    stocked = shop.create_product(type="variation", parent_id=parent.id, name="Red", manage_stock=True,
                                  stock_quantity=2)
    shop.create_product(type="variation", parent_id=parent.id, name="Blue", manage_stock=True, stock_quantity=0)
    assert parent.stock_status == "instock"
    shop.delete_product(stocked.id, force=True)
    assert parent.stock_status == "outofstock" and parent.children == [stocked.id + 1]


def test_trashed_product_leaves_lists_and_frees_its_sku_and_cannot_be_trashed_twice(shop: ShopState) -> None:
    pid = simple(shop, 3, sku="A-1")
    answered = shop.delete_product(pid, force=False)
    assert answered.status == "publish" and shop.products[pid].status == "trash"  # answered as it was
    assert shop.list_products() == [] and [p.id for p in shop.list_products(status="trash")] == [pid]
    assert shop.find_product_id_by_sku("A-1") is None and simple(shop, 1, sku="A-1") != pid
    with pytest.raises(ShopError) as error:
        shop.delete_product(pid, force=False)
    assert (error.value.code, error.value.status) == ("woocommerce_rest_already_trashed", 410)


def test_the_sku_index_follows_sku_changes_trash_and_deletes(shop: ShopState) -> None:
    """SKUs are looked up in an index (issue 9: 10,000 creates were quadratic); it must answer
    what a scan of every product would: the lowest live id, nothing for a freed SKU."""
    first = simple(shop, 1, sku="A-1")
    shop.update_product(first, {"sku": "B-1"})
    assert shop.find_product_id_by_sku("A-1") is None and shop.find_product_id_by_sku("B-1") == first
    second = simple(shop, 1, sku="A-1")  # the old SKU is free again
    with pytest.raises(ShopError) as error:
        simple(shop, 1, sku="B-1")
    assert error.value.data["resource_id"] == first
    shop.delete_product(first, force=False)  # trashed: its SKU may be taken, and it no longer answers
    third = simple(shop, 1, sku="B-1")
    assert shop.find_product_id_by_sku("B-1") == third
    shop.update_product(first, {"status": "publish"})  # back from the trash: the lower id answers first
    assert shop.find_product_id_by_sku("B-1") == first
    parent = shop.create_product(type="variable", name="Shirt", sku="P-1")
    child = shop.create_product(type="variation", parent_id=parent.id, name="Red", sku="C-1")
    shop.delete_product(parent.id, force=True)  # takes its variation along
    assert shop.find_product_id_by_sku("P-1") is None and shop.find_product_id_by_sku("C-1") is None
    assert simple(shop, 1, sku="C-1") != child and shop.find_product_id_by_sku("A-1") == second


def test_deleting_an_order_never_moves_stock(shop: ShopState) -> None:
    pid = simple(shop, 10)
    trashed, deleted = rest_order(shop, pid, 2, status="processing"), rest_order(shop, pid, 3, status="processing")
    shop.delete_order(trashed, force=False)
    shop.delete_order(deleted, force=True)
    assert stock(shop, pid) == 5 and deleted not in shop.orders
    assert shop.list_orders() == [] and [o.id for o in shop.list_orders(["trash"])] == [trashed]


# ----------------------------------------------------------------------- variations (§3.5)
def test_variations_managed_by_the_parent_keep_its_last_status_when_it_stops_managing(shop: ShopState) -> None:
    parent = shop.create_product(type="variable", name="Shirt", manage_stock=True, stock_quantity=0)
    red = shop.create_product(type="variation", parent_id=parent.id, name="Red", regular_price="5")
    assert red.stock_status == "outofstock"  # synced from the parent, not merely shown
    shop.update_product(parent.id, {"manage_stock": False})
    assert (shop.effective_stock_status(red), parent.stock_status) == ("outofstock", "outofstock")


# ----------------------------------------------------------------------- the request's stock changes
def test_a_request_scope_lists_the_stock_it_moved_with_the_cause(shop: ShopState) -> None:
    pid = simple(shop, 10)
    with shop.request() as scope:
        oid = rest_order(shop, pid, 2, status="processing")
        shop.update_product(pid, {"name": "Big mug"})  # a save that leaves the quantity alone
        shop.set_stock(pid, 10, source="inventories")
        shop.set_stock(pid, 10, source="inventories")  # written, but nothing moved
    assert scope.stock == [{"product_id": pid, "from": 10, "to": 8, "cause": f"order {oid} reduce"},
                           {"product_id": pid, "from": 8, "to": 10, "cause": "inventories set"}]
    assert [e["cause"] for e in shop.stock_events][-3:] == [f"order {oid} reduce", "inventories set",
                                                            "inventories set"]


# ----------------------------------------------------------------------- PHP casts
@pytest.mark.parametrize("value, expected", [
    ("12abc", 12), (" 1e3", 1000), ("abc", 0), ("-", 0), (2.9, 2), (True, 1), ("1e400", 0), (10**30, 2**63 - 1),
])
def test_intval_reads_a_leading_number_as_php_does(value: Any, expected: int) -> None:
    assert _intval(value) == expected


@pytest.mark.parametrize("price, expected", [("100", "100"), ("1.2.3", "12.3"), ("abc", ""), ("99 RUB", "99")])
def test_prices_are_cleaned_as_wc_format_decimal_does(shop: ShopState, price: str, expected: str) -> None:
    assert shop.create_product(name="P", regular_price=price).regular_price == expected


def test_a_trashed_variation_no_longer_counts_for_its_parent(shop: ShopState) -> None:
    parent = shop.create_product(type="variable", name="Shirt")
    red = shop.create_product(type="variation", parent_id=parent.id, name="Red", manage_stock=True, stock_quantity=2)
    shop.delete_product(red.id, force=False)
    assert parent.stock_status == "outofstock" and shop.variations_of(parent.id) == []
    assert [v.id for v in shop.variations_of(parent.id, status="trash")] == [red.id]
