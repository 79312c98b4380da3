"""The simulated clock and the jobs it drives.

A SimPy environment is the only clock. Each connector job and the CRM's
catalog import is a small process that sleeps until it is due and then asks
the target to run it now; actors act between events, at the current
simulated time. After every action and job run the timeline records the stock
both systems show.
"""

from __future__ import annotations

import functools
import zlib
from dataclasses import dataclass, fields
from typing import Any, Callable, Generator

import simpy
import simpy.rt
from faker import Faker

from sim.actors import Customer, CrmManager, Product, ShopAdmin, StockObserver
from sim.targets import HttpTarget
from sim.timeline import CATALOG_IMPORT, CATALOG_IMPORT_KIND, CONNECTOR_JOB_KINDS, Event, Timeline

#: A scenario that waits for something never due gives up after this much simulated time.
HORIZON = 3 * 24 * 3600.0



@dataclass
class Schedule:
    """Intervals and first-run offsets in simulated seconds (defaults: the plugin's and the CRM's)."""

    inventories_interval: float = 900.0
    history_interval: float = 300.0
    icml_interval: float = 10_800.0
    catalog_import_interval: float = 14_400.0
    inventories_offset: float = 0.0
    history_offset: float = 0.0
    icml_offset: float = 0.0
    catalog_import_offset: float = 0.0
    #: WP-Cron fires a due job only on the next site hit: this much later.
    cron_lateness: float = 0.0

    @classmethod
    def from_pairs(cls, pairs: dict[str, str]) -> "Schedule":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(pairs) - known)
        if unknown:
            raise ValueError(f"unknown schedule parameter(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        values: dict[str, float] = {}
        for name, raw in pairs.items():
            try:
                values[name] = float(raw)
            except ValueError:
                raise ValueError(f"{name} must be a number of simulated seconds, got {raw!r}") from None
            if values[name] < 0:
                raise ValueError(f"{name} must not be negative, got {raw!r}")
        if any(values.get(f"{job}_interval", 1.0) <= 0 for job in ("inventories", "history", "icml", "catalog_import")):
            raise ValueError("an interval must be greater than 0")
        return cls(**values)


@functools.cache
def _faker() -> Faker:
    return Faker("ru_RU")


def seeded_faker(seed: int) -> Faker:
    """The process's one Faker (building one costs ~0.2 s), reseeded: same seed, same data."""
    faker = _faker()
    faker.seed_instance(seed)
    return faker


def scenario_seed(name: str, base: int = 2026) -> int:
    """A stable seed per scenario, so running one scenario alone gives the same data."""
    return base ^ zlib.crc32(name.encode("utf-8"))


class Simulation:
    """One scenario's world: the clock, the jobs it drives, the actors and the timeline.

    ``speed`` paces the clock at that many simulated seconds per wall second (SimPy's real-time
    environment, non-strict: HTTP takes real time, and a late step just runs late); None runs
    as fast as possible.
    """

    def __init__(self, target: HttpTarget, schedule: Schedule | None = None, seed: int = 2026,
                 speed: float | None = None) -> None:
        self.env: simpy.Environment = (
            simpy.rt.RealtimeEnvironment(factor=1.0 / speed, strict=False) if speed else simpy.Environment()
        )
        self.speed = speed
        self.target = target
        self.schedule = schedule or Schedule()
        self.timeline = Timeline()
        self.faker = seeded_faker(seed)
        self.observer = StockObserver(target)
        self.customer = Customer(target, self.faker)
        self.manager = CrmManager(target, self.faker)
        self.admin = ShopAdmin(target, self.faker)
        self.started = False
        #: Job name (inventories, history, icml, catalog_import) -> the simulated time it is next due.
        self.next_due: dict[str, float] = {}
        target.follow_clock(lambda: self.env.now)

    @property
    def now(self) -> float:
        return self.env.now

    def close(self) -> None:
        """Close the actors' keep-alive connections. A fake keeps an idle connection open for
        minutes, and waitress stops accepting new ones at its connection limit: a suite that left
        every scenario's connections open had its last scenarios wait 30 s each for an answer.
        The simulation stays usable: a client that is used again opens a new connection."""
        for client in (getattr(self.observer, "woo", None), getattr(self.observer, "crm", None),
                       self.manager.api, self.admin.api):
            session = getattr(client, "session", None)
            if session is not None:
                session.close()

    # -- recording ---------------------------------------------------------
    def record(self, system: str, kind: str, detail: str, facts: dict[str, Any] | None = None) -> Event:
        return self.timeline.record(Event(self.env.now, system, kind, detail, self.observer.snapshot(), facts or {}))

    def act(self, kind: str, detail: str, action: Callable[[], Any], **facts: Any) -> Any:
        """Run an actor's action now (starting the clock first if needed) and record it.

        ``facts`` are the action's values (quantity, status, order) for narrating it in another language.
        """
        self.start()
        result = action()
        self.record(_system_of(kind), f"action.{kind}", detail, facts)
        return result

    # -- setup, before the clock starts --------------------------------------
    def add_product(self, quantity: int, crm_keeps_stock: bool, store: str = "main") -> Product:
        product = self.admin.create_product(quantity)
        self.observer.watch(product)
        self.target.run_job("icml")
        self.target.catalog_import()
        if crm_keeps_stock:
            self.manager.receive_stock(product, quantity, store)
        self.record("sim", "setup.product", f"{product.name} ({product.sku}) with {quantity} in stock",
                    {"name": product.name, "sku": product.sku, "qty": quantity})
        return product

    # -- the clock ----------------------------------------------------------
    def start(self) -> None:
        if self.started:
            return
        self.started = True
        if isinstance(self.env, simpy.rt.RealtimeEnvironment):
            self.env.sync()  # pace from now: the setup before the clock started took wall time, not simulated time
        s = self.schedule
        self.record("sim", "sim.start", "the clock starts; every job is due at its first-run offset")
        for job, kind in CONNECTOR_JOB_KINDS.items():
            interval, offset = getattr(s, f"{job}_interval"), getattr(s, f"{job}_offset")
            self.env.process(self._cron(job, offset, interval, lambda job=job, kind=kind: self._run_job(job, kind)))
        self.env.process(self._cron(CATALOG_IMPORT, s.catalog_import_offset, s.catalog_import_interval,
                                    self._catalog_import))
        self._drain_now()

    def _cron(self, name: str, offset: float, interval: float,
              run: Callable[[], None]) -> Generator[simpy.Event, Any, None]:
        due = offset
        self.next_due[name] = due + self.schedule.cron_lateness
        yield self.env.timeout(due + self.schedule.cron_lateness)
        while True:
            # WP-Cron reschedules a late event in phase: the next run is due one interval after the last due time.
            due += interval
            self.next_due[name] = max(self.env.now, due + self.schedule.cron_lateness)
            run()
            yield self.env.timeout(self.next_due[name] - self.env.now)

    def _run_job(self, job: str, kind: str) -> None:
        result = self.target.run_job(job)
        self.record("connector", kind, _job_detail(result), result)

    def _catalog_import(self) -> None:
        result = self.target.catalog_import()
        self.record("crm", CATALOG_IMPORT_KIND, _import_detail(result), result)

    def _drain_now(self) -> None:
        """Process every event due at the current instant."""
        while self.env.peek() == self.env.now:
            self.env.step()

    def advance(self, seconds: float) -> None:
        self.start()
        if seconds > 0:
            self.env.run(until=self.env.now + seconds)
            self._drain_now()

    def run_until(self, condition: Callable[[], bool], deadline: float) -> float | None:
        """Step the clock until ``condition`` holds (checked after every event) or ``deadline`` passes.

        Returns the simulated time the condition first held, or None.
        """
        self.start()
        if condition():
            return self.env.now
        while self.env.peek() <= deadline:
            self.env.step()
            if condition():
                return self.env.now
        if deadline > self.env.now:
            self.env.run(until=deadline)
        return None

    def run_until_event(self, kind: str) -> Event:
        """Step the clock until the next event of ``kind`` is recorded."""
        self.start()
        seen = len(self.timeline)

        def happened() -> bool:
            return any(e.kind == kind for e in self.timeline.events[seen:])

        if self.run_until(happened, self.env.now + HORIZON) is None:
            raise AssertionError(f"no {kind} within {HORIZON / 3600:.0f} simulated hours")
        return next(e for e in self.timeline.events[seen:] if e.kind == kind)


def _system_of(kind: str) -> str:
    return "crm" if kind.startswith("crm") else "woo"


def _job_detail(result: dict[str, Any]) -> str:
    if not result.get("ran", True):
        return f"skipped: {result.get('detail', 'disabled')}"
    status = "ok" if result.get("ok", True) else "FAILED"
    changed = result.get("changed") or {}
    text = f"{status}, {result.get('requests', 0)} request(s)"
    if changed:
        text += ", set " + ", ".join(f"#{pid}={qty}" for pid, qty in changed.items())
    detail = result.get("detail")
    return f"{text}; {detail}" if detail else text


def _import_detail(result: dict[str, Any]) -> str:
    applied = "quantities applied" if result.get("quantities_applied") else "quantities ignored (the CRM keeps stock)"
    return f"{result.get('offers', 0)} offer(s) read from the shop's catalog file; {applied}"
