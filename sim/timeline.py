"""The timeline: every action, job run and the stock each system shows after it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Iterator

from fakes.clock import CRM_DATETIME, at

Stock = dict[str, dict[str, int | None]]  # {"crm": {sku: qty}, "woo": {sku: qty}}


@dataclass(frozen=True)
class Event:
    t: float
    system: str  # crm | woo | connector | sim
    kind: str  # action.*, sync.inventories, sync.history, sync.icml, crm.catalog_import, sim.*
    detail: str
    stock: Stock = field(default_factory=dict)

    @property
    def at(self) -> str:
        return at(self.t).strftime(CRM_DATETIME)

    def qty(self, system: str, sku: str) -> int | None:
        return self.stock.get(system, {}).get(sku)


def clock_text(t: float) -> str:
    """Simulated time since start as H:MM:SS (a trainer reads this, not seconds)."""
    seconds = int(round(t))
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Timeline:
    def __init__(self) -> None:
        self.events: list[Event] = []

    def record(self, event: Event) -> Event:
        self.events.append(event)
        return event

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
        return [{**asdict(e), "at": e.at} for e in self.events]

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
