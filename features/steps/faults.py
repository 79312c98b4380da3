"""Fault steps: the CRM misbehaving towards the connector, and what survives it.

Every rule is limited to the connector's API key: the stock observer reads the
same CRM routes with the manager's key and must keep seeing the truth while the
connector is refused. Windows are on the CRM's simulated clock, measured from
the current simulated time.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest
from pytest_bdd import given, parsers, then, when

from features.steps.world import World
from sim.actors import crm_client, woo_client
from sim.timeline import Event, clock_text

#: How a step names a fault kind -> the rule fields that make it.
FAULT_PHRASES = r"(?P<fault>answers (?P<status>\d{3}) to|drops the connection on|answers malformed JSON to)"
INVENTORIES = "/api/v5/store/inventories*"
ORDER_HISTORY = "/api/v5/orders/history"
ORDER_UPLOAD = "/api/v5/orders/create"


@dataclass
class InjectedFaults:
    """The CRM fault rules this scenario added, so Then-steps can read their hits."""

    ids: list[int] = field(default_factory=list)
    #: The first simulated second at which every rule's window is over (None: no window).
    over_at: float | None = None


@pytest.fixture
def injected() -> InjectedFaults:
    return InjectedFaults()


def _fault_fields(fault: str, status: str | None) -> dict[str, Any]:
    if fault.startswith("drops"):
        return {"kind": "reset"}
    if "malformed" in fault:
        return {"kind": "malformed"}
    return {"kind": "status", "status": int(status or 503)}


def _add_crm_fault(world: World, injected: InjectedFaults, rule: dict[str, Any]) -> dict[str, Any]:
    target = world.sim.target
    stored = target.add_fault("crm", {**rule, "api_key": target.creds.connector_key})
    injected.ids.append(int(stored["id"]))
    world.sim.record("crm", "fault.added", _rule_text(stored))
    return stored


def _rule_text(rule: dict[str, Any]) -> str:
    what = {"status": f"HTTP {rule.get('status')}", "reset": "connection reset", "malformed": "malformed JSON"}
    text = f"fault #{rule['id']}: {what.get(rule['kind'], rule['kind'])} on {rule.get('method') or 'any'} {rule['path']}"
    if rule.get("skip"):
        text += f" after {rule['skip']} request(s) let through"
    if rule.get("times"):
        text += f", {rule['times']} time(s)"
    if rule.get("until") is not None:
        text += f", until {clock_text(rule['until'])}"
    return text


def _hits(world: World, injected: InjectedFaults) -> int:
    return sum(r["hits"] for r in world.sim.target.faults("crm") if r["id"] in injected.ids)


# -- Given / When: the CRM starts misbehaving ------------------------------------------
@given(parsers.re(r"the CRM " + FAULT_PHRASES + r" stock requests for the next (?P<minutes>\d+) minutes"),
       converters={"minutes": int})
@when(parsers.re(r"the CRM " + FAULT_PHRASES + r" stock requests for the next (?P<minutes>\d+) minutes"),
      converters={"minutes": int})
def crm_fails_stock_requests(world: World, injected: InjectedFaults, fault: str, status: str | None,
                             minutes: int) -> None:
    start = world.sim.now
    injected.over_at = start + minutes * 60
    _add_crm_fault(world, injected, {**_fault_fields(fault, status), "method": "GET", "path": INVENTORIES,
                                     "from": start, "until": injected.over_at})


@given("the CRM fails the next order upload")
@when("the CRM fails the next order upload")
def crm_fails_next_upload(world: World, injected: InjectedFaults) -> None:
    _add_crm_fault(world, injected, {"kind": "status", "status": 503, "method": "POST", "path": ORDER_UPLOAD,
                                     "times": 1})


@given("the CRM fails the second page of the next order history run")
@when("the CRM fails the second page of the next order history run")
def crm_fails_second_history_page(world: World, injected: InjectedFaults) -> None:
    # skip 1: the run's first page goes through, so the failure lands mid-run, after the
    # plugin has moved its sinceId past the first page and applied it.
    _add_crm_fault(world, injected, {"kind": "status", "status": 503, "method": "GET", "path": ORDER_HISTORY,
                                     "skip": 1, "times": 1, "from": world.sim.now})


@when(parsers.parse("a CRM manager creates {count:d} orders for {quantity:d} unit each"))
@when(parsers.parse("a CRM manager creates {count:d} orders for {quantity:d} units each"))
def manager_creates_orders(world: World, count: int, quantity: int) -> None:
    """Many orders in one action, e.g. to fill more than one history page (100 entries);
    the scenario's order stays the one created before."""
    product = world.product
    assert product is not None
    world.sim.act(
        "crm.order_create", f"a CRM manager creates {count} orders for {quantity} x {product.sku}",
        lambda: [world.sim.manager.create_order(product, quantity) for _ in range(count)],
    )
    world.mark_action()


# -- Then: convergence and nothing lost -----------------------------------------------
@then(parsers.re(r"the shop stock stays (?P<before>-?\d+) through (?P<failed>\d+) failed stock syncs?, and the "
                 r"first stock sync after the CRM is back sets it to (?P<after>-?\d+)"),
      converters={"before": int, "failed": int, "after": int})
def stale_until_crm_back(world: World, injected: InjectedFaults, before: int, failed: int, after: int) -> None:
    assert injected.over_at is not None, "no fault window was set"
    start = world.current_index()
    failures = 0
    while True:
        sync = world.sim.run_until_event("sync.inventories")
        if sync.t >= injected.over_at:
            break
        assert "FAILED" in sync.detail, f"the stock sync at {world.at_text(sync.t)} succeeded during the outage"
        failures += 1
    events = world.events_from(start)
    changed = world.first_change("shop", events[: events.index(sync)], before)
    assert changed is None, (
        f"the shop stock changed to {world.qty('shop', changed)} at {world.at_text(changed.t)} ({changed.kind}) "
        f"while the CRM refused the stock sync"
    )
    assert failures == failed, f"{failures} stock syncs failed during the outage, expected {failed}"
    assert "FAILED" not in sync.detail, f"the first stock sync after the outage failed: {sync.detail}"
    actual = world.qty("shop", sync)
    assert actual == after, (
        f"the first stock sync after the outage, at {world.at_text(sync.t)}, left the shop stock at {actual}, "
        f"expected {after}"
    )


@then(parsers.re(r"the CRM refused the connector (?P<count>\d+) times?"), converters={"count": int})
def crm_refused(world: World, injected: InjectedFaults, count: int) -> None:
    hits = _hits(world, injected)
    assert hits == count, f"the CRM's fault rules answered {hits} of the connector's requests, expected {count}"


@then("the next order history run stops at its failed second page")
def history_stops_mid_run(world: World, injected: InjectedFaults) -> None:
    hits_before = _hits(world, injected)
    run = world.sim.run_until_event("sync.history")
    assert _hits(world, injected) == hits_before + 1, (
        f"the history run at {world.at_text(run.t)} did not reach a second page ({run.detail})"
    )
    assert "100 order entries" in run.detail, f"the failed run applied more than its first page: {run.detail}"


@then(parsers.re(r"the shop stock stays (?P<before>-?\d+) until the next order history run, "
                 r"which sets it to (?P<after>-?\d+)"), converters={"before": int, "after": int})
def stock_until_history(world: World, before: int, after: int) -> None:
    world.assert_stays_until("shop", before, "sync.history", after, "the next order history run")


@then(parsers.re(r"the (?P<system>shop|CRM) (still )?has (?P<count>\d+) orders?"), converters={"count": int})
def order_count(world: World, system: str, count: int) -> None:
    actual = _shop_orders(world) if system == "shop" else _crm_orders(world)
    assert actual == count, f"the {system} has {actual} orders at {clock_text(world.sim.now)}, expected {count}"


@then(parsers.re(r"the shop order count stays (?P<count>\d+) for (?P<minutes>\d+) minutes"),
      converters={"count": int, "minutes": int})
def shop_orders_stay(world: World, count: int, minutes: int) -> None:
    seen: list[tuple[Event, int]] = []
    deadline = world.sim.now + minutes * 60

    def counted() -> bool:
        last = world.sim.timeline.last
        if last is not None and (not seen or seen[-1][0] is not last):
            seen.append((last, _shop_orders(world)))
        return False

    world.sim.run_until(counted, deadline)
    wrong = next(((e, n) for e, n in seen if n != count), None)
    assert wrong is None, f"the shop had {wrong[1]} orders after {wrong[0].kind} at {clock_text(wrong[0].t)}"


def _shop_orders(world: World) -> int:
    response = woo_client(world.sim.target).get("orders", params={"per_page": 1})
    assert response.status_code == 200, f"the shop refused to list orders: HTTP {response.status_code}"
    return int(response.headers["X-WP-Total"])


def _crm_orders(world: World) -> int:
    target = world.sim.target
    answer = crm_client(target, target.creds.manager_key).orders(limit=20)
    assert answer.is_successful(), f"the CRM refused to list orders: {answer.get_response()}"
    return int(answer.get_response()["pagination"]["totalCount"])
