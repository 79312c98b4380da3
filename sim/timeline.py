"""The timeline: every action, job run and the stock each system shows after it.

Besides the events, a timeline keeps the checks the scenario's Then-steps made
(what the spec expected, and when), so a report can show the expected and the
actual timeline side by side. ``document()`` is the JSON form documented in
docs/timeline.md and ``sim/timeline.schema.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from typing import Any, Callable, Iterator

from fakes.clock import at

Stock = dict[str, dict[str, int | None]]  # {"crm": {sku: qty}, "woo": {sku: qty}}

#: The systems of an event's ``stock``, and the names a person reads.
SYSTEM_NAMES = {"crm": "CRM", "woo": "WooCommerce"}

#: The connector's jobs (as the shop's control route names them) -> the kind of their runs' events.
CONNECTOR_JOB_KINDS = {"inventories": "sync.inventories", "history": "sync.history", "icml": "sync.icml"}
#: The CRM's catalog import, by the name ``Simulation.next_due`` gives it, and the kind of its events.
CATALOG_IMPORT, CATALOG_IMPORT_KIND = "catalog_import", "crm.catalog_import"
#: Every scheduled job -> the kind of its runs' events.
JOB_KINDS = {**CONNECTOR_JOB_KINDS, CATALOG_IMPORT: CATALOG_IMPORT_KIND}


@dataclass(frozen=True)
class Event:
    t: float
    system: str  # crm | woo | connector | sim
    kind: str  # action.*, sync.inventories, sync.history, sync.icml, crm.catalog_import, setup.*, sim.*
    detail: str
    stock: Stock = field(default_factory=dict)
    #: What the event did, as values (quantities, statuses, the shop's changed stock) for narrating it in
    #: another language; not part of the JSON document.
    facts: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def at(self) -> str:
        return iso_at(self.t)

    def qty(self, system: str, sku: str) -> int | None:
        return self.stock.get(system, {}).get(sku)

    def as_dict(self) -> dict[str, Any]:
        return {"t": self.t, "at": self.at, "system": self.system, "kind": self.kind, "detail": self.detail,
                "stock": {side: dict(sorted(self.stock.get(side, {}).items())) for side in SYSTEM_NAMES}}


@dataclass(frozen=True)
class Check:
    """One expectation of a Then-step, judged against the timeline.

    ``t_from == t`` is a check at one instant ("is 8 at once", "becomes 10 by 0:15:00"); ``t_from < t`` is a
    check over a span ("stays 10 until the next stock sync").
    """

    t_from: float
    t: float
    system: str  # crm | woo
    sku: str
    expected: int | None
    actual: int | None
    ok: bool
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"t_from": self.t_from, "t": self.t, "system": self.system, "sku": self.sku,
                "expected": self.expected, "actual": self.actual, "ok": self.ok, "text": self.text}


def iso_at(t: float) -> str:
    """The simulated instant ``t`` as ISO 8601 local time (the shop's clock; no zone, like the CRM's)."""
    return at(t).isoformat(timespec="seconds")


def clock_text(t: float) -> str:
    """Simulated time since start as H:MM:SS (a trainer reads this, not seconds)."""
    seconds = int(round(t))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Timeline:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.checks: list[Check] = []
        #: Called with every event as it is recorded (the demo narrates through this).
        self.listeners: list[Callable[[Event], None]] = []

    def record(self, event: Event) -> Event:
        self.events.append(event)
        for listener in self.listeners:
            listener(event)
        return event

    def check(self, check: Check) -> Check:
        self.checks.append(check)
        return check

    def __iter__(self) -> Iterator[Event]:
        return iter(self.events)

    def __len__(self) -> int:
        return len(self.events)

    @property
    def last(self) -> Event | None:
        return self.events[-1] if self.events else None

    def since(self, t: float, *, inclusive: bool = True) -> list[Event]:
        return [e for e in self.events if e.t > t or (inclusive and e.t == t)]

    def last_of(self, prefix: str) -> Event | None:
        return next((e for e in reversed(self.events) if e.kind.startswith(prefix)), None)

    def as_dicts(self) -> list[dict[str, Any]]:
        return [e.as_dict() for e in sorted(self.events, key=lambda e: e.t)]

    def document(self, case: str, scenario: str, **extra: Any) -> dict[str, Any]:
        """The timeline as one JSON document (schema: ``sim/timeline.schema.json``)."""
        return {"case": case, "scenario": scenario, "start": iso_at(0.0), "events": self.as_dicts(),
                "checks": [c.as_dict() for c in self.checks], **extra}

    @classmethod
    def from_document(cls, document: dict[str, Any]) -> "Timeline":
        """Rebuild a timeline from its JSON document (the report does, from what a worker sent)."""
        timeline = cls()
        timeline.events = [Event(e["t"], e["system"], e["kind"], e["detail"], e["stock"]) for e in document["events"]]
        timeline.checks = [Check(**c) for c in document.get("checks", [])]
        return timeline

    def render(self) -> str:
        """A fixed-width table: one line per event with both systems' stock."""
        skus = sorted({sku for e in self.events for side in e.stock.values() for sku in side})
        header = f"{'time':>8}  {'system':<9} {'event':<22} " + " ".join(
            f"{'crm ' + s:>12} {'woo ' + s:>12}" for s in skus
        )
        lines = [header, "-" * len(header)]
        for e in self.events:
            cells = " ".join(f"{_fmt(e.qty('crm', s)):>12} {_fmt(e.qty('woo', s)):>12}" for s in skus)
            lines.append(f"{clock_text(e.t):>8}  {e.system:<9} {e.kind:<22} {cells}  {e.detail}")
        return "\n".join(lines)


def _fmt(qty: int | None) -> str:
    return "-" if qty is None else str(qty)


def timeline_schema() -> dict[str, Any]:
    """The JSON Schema of ``Timeline.document()``, shipped with the package."""
    return json.loads(resources.files("sim").joinpath("timeline.schema.json").read_text(encoding="utf-8"))
