"""What a scenario remembers between steps, and the checks its Then-steps make.

Checks read the timeline, never the wall clock: "within 15 minutes" means
simulated minutes after the last action.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sim.actors import Product
from sim.simulation import Simulation
from sim.timeline import Check, Event, clock_text

SYSTEMS = {"shop": "woo", "CRM": "crm"}

#: How far past a missed deadline a failing "within" step looks to say when the change came.
LOOK_AHEAD = 3600.0


@dataclass
class World:
    sim: Simulation
    crm_keeps_stock: bool = False
    product: Product | None = None
    woo_order: dict[str, Any] | None = None
    crm_order: dict[str, Any] | None = None
    last_action_at: float = 0.0
    #: Index in the timeline of the last action's event: checks look from there on.
    last_action_index: int = 0

    # -- reading stock -------------------------------------------------------
    def sku(self) -> str:
        assert self.product is not None, "the scenario has no product yet: add a 'Given a product ...' step"
        return self.product.sku

    def qty(self, system: str, event: Event | None = None) -> int | None:
        event = event or self.sim.timeline.last
        assert event is not None, "nothing has been recorded yet"
        return event.qty(SYSTEMS[system], self.sku())

    def mark_action(self) -> None:
        self.last_action_at = self.sim.now
        self.last_action_index = len(self.sim.timeline) - 1

    def events_from(self, index: int) -> list[Event]:
        return self.sim.timeline.events[index:]

    def current_index(self) -> int:
        return len(self.sim.timeline) - 1

    def at_text(self, t: float) -> str:
        return f"{clock_text(t)} (+{clock_text(t - self.last_action_at)} after the last action)"

    def first_change(self, system: str, events: list[Event], expected: int) -> Event | None:
        return next((e for e in events if self.qty(system, e) != expected), None)

    # -- checks ----------------------------------------------------------------
    def expect(self, system: str, expected: int, actual: int | None, span: tuple[float, float], text: str) -> bool:
        """Put a check on the timeline (reports show it as the expected timeline); True when it held."""
        ok = actual == expected
        self.sim.timeline.check(Check(span[0], span[1], SYSTEMS[system], self.sku(), expected, actual, ok,
                                      f"the {system} stock {text}"))
        return ok

    def assert_at_once(self, system: str, expected: int) -> None:
        actual = self.qty(system)
        assert self.sim.now == self.last_action_at, "time has passed since the last action"
        now = self.sim.now
        self.expect(system, expected, actual, (now, now), f"is {expected} at once")
        assert actual == expected, (
            f"right after the action at {clock_text(self.last_action_at)} the {system} stock is {actual}, expected {expected}"
        )

    def assert_within(self, system: str, expected: int, minutes: int) -> None:
        deadline = self.last_action_at + minutes * 60
        reached = self.sim.run_until(lambda: self.qty(system) == expected, deadline)
        text = f"becomes {expected} within {minutes} minutes (by {clock_text(deadline)})"
        if reached is not None:
            self.expect(system, expected, expected, (reached, reached), text)
            return
        at_deadline = self.qty(system)
        self.expect(system, expected, at_deadline, (deadline, deadline), text)
        # Look a little further ahead only to tell the reader when the change did come; a bounded
        # look-ahead keeps a failing (or strict-xfail) scenario from simulating days of jobs.
        look_ahead = max(4 * minutes * 60, LOOK_AHEAD)
        later = self.sim.run_until(lambda: self.qty(system) == expected, self.sim.now + look_ahead)
        when = f"it became {expected} only at {self.at_text(later)}" if later is not None else (
            f"it was still not {expected} {clock_text(look_ahead)} after the deadline")
        raise AssertionError(f"the {system} stock was {at_deadline} at the deadline {self.at_text(deadline)}; {when}")

    def assert_stays_until(self, system: str, before: int, event_kind: str, after: int, what: str) -> Event:
        start = self.current_index()
        event = self.sim.run_until_event(event_kind)
        events = self.events_from(start)
        earlier = events[: events.index(event)]
        changed = self.first_change(system, earlier, before)
        span_start = events[0].t
        self.expect(system, before, before if changed is None else self.qty(system, changed),
                    (span_start, event.t if changed is None else changed.t), f"stays {before} until {what}")
        assert changed is None, (
            f"the {system} stock changed to {self.qty(system, changed)} at {self.at_text(changed.t)} "
            f"({changed.kind}), before {what} at {clock_text(event.t)}"
        )
        actual = self.qty(system, event)
        self.expect(system, after, actual, (event.t, event.t), f"is {after} after {what}")
        assert actual == after, (
            f"{what} at {self.at_text(event.t)} left the {system} stock at {actual}, expected {after}"
        )
        return event

    def assert_stays_for(self, system: str, expected: int, minutes: int) -> None:
        start = self.current_index()
        began = self.sim.now
        self.sim.advance(minutes * 60)
        changed = self.first_change(system, self.events_from(start), expected)
        self.expect(system, expected, expected if changed is None else self.qty(system, changed),
                    (began, self.sim.now if changed is None else changed.t), f"stays {expected} for {minutes} minutes")
        assert changed is None, (
            f"the {system} stock changed to {self.qty(system, changed)} at {self.at_text(changed.t)} ({changed.kind}); "
            f"expected it to stay {expected} for {minutes} minutes"
        )

    def assert_throughout(self, system: str, expected: int) -> None:
        start = next((i for i, e in enumerate(self.sim.timeline) if e.kind == "sim.start"), None)
        assert start is not None, "the clock has not started"
        changed = self.first_change(system, self.events_from(start), expected)
        began = self.sim.timeline.events[start].t
        self.expect(system, expected, expected if changed is None else self.qty(system, changed),
                    (began, self.sim.now if changed is None else changed.t), f"has been {expected} throughout")
        assert changed is None, (
            f"the {system} stock was {self.qty(system, changed)} at {clock_text(changed.t)} ({changed.kind}); "
            f"expected {expected} throughout"
        )
