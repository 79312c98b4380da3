"""Telling a person what happens, as it happens: the demo's narration, in English or Russian.

A ``Narrator`` listens to a simulation's timeline. For every event it prints the
simulated clock, what happened, whose stock changed (old -> new) and why, and
what is due next; the first run of each job says what that job is for. Steps
of the scenario are printed as they start, with a tick or a cross when they end.
"""

from __future__ import annotations

import re
import sys
from typing import Any, Callable, TextIO

from sim.timeline import JOB_KINDS, Event, clock_text

LANGS = ("en", "ru")


TEXT: dict[str, dict[str, str]] = {
    "en": {
        "crm": "CRM", "woo": "shop",
        "job.sync.inventories": "stock sync (module)",
        "job.sync.history": "order history (module)",
        "job.sync.icml": "catalog file (module)",
        "job.crm.catalog_import": "catalog import (CRM)",
        "why.sync.inventories": "every {inventories} the module reads the CRM's stock and, when stock is kept in "
                                "the CRM, writes it into WooCommerce, overwriting what the shop shows",
        "why.sync.history": "every {history} the module reads what changed in the CRM (orders, statuses) and "
                            "applies it to the WooCommerce orders",
        "why.sync.icml": "every {icml} the module writes the shop's catalog file (ICML), WooCommerce's stock in it",
        "why.crm.catalog_import": "every {catalog_import} the CRM reads the shop's catalog file; when stock is kept on "
                                  "the site, the CRM takes its quantities from that file",
        "action.checkout": "a customer orders {qty} x {sku} on the site (cash on delivery)",
        "action.crm.order_create": "a CRM manager creates an order for {qty} x {sku}",
        "action.crm.order_status": 'the CRM manager sets order {order} to "{status}"',
        "action.crm.item_status": 'the CRM manager gives the items of order {order} the "{status}" status',
        "action.woo.order_status": 'the shop admin sets order #{order} to "{status}"',
        "setup.product": "product {name} ({sku}) with {qty} in stock",
        "sim.start": "the clock starts; every job is due at its first-run offset",
        "job.ok": "ok, {requests} request(s)",
        "job.failed": "FAILED, {requests} request(s)",
        "job.skipped": "skipped",
        "job.changed": "set in the shop: {items}",
        "import.applied": "{offers} offer(s) read from the shop's catalog file; quantities applied",
        "import.ignored": "{offers} offer(s) read from the shop's catalog file; quantities ignored "
                          "(the CRM keeps stock)",
        "change": "{system} stock of {sku}: {old} -> {new}",
        "stock": "stock now: {cells}",
        "due": "next: {items}",
        "case": "Case {case}: {statement}",
        "document": "The source document says:",
        "scenario": "Scenario: {scenario} ({feature})",
        "speed.fast": "Clock: as fast as possible (--speed N paces it at N simulated seconds per wall second)",
        "speed.paced": "Clock: {speed:g} simulated seconds per wall second",
        "legend": "Legend: * the event changed a stock; -> what changed; > a step of the scenario",
        "waiting": "waiting: {clock}, next {job} at {due}",
        "step.failed": "the step failed: {message}",
        "summary": "What changed each system's stock:",
        "summary.none": "(nothing changed the {system} stock)",
        "summary.line": "{clock}  {system}: {old} -> {new}  ({why})",
        "result.passed": "Every check of the scenario held. Simulated {simulated} in {wall:.2f} s of wall time.",
        "result.failed": "The scenario FAILED. Simulated {simulated} in {wall:.2f} s of wall time.",
    },
    "ru": {
        "crm": "CRM", "woo": "магазин",
        "job.sync.inventories": "синхронизация остатков (модуль)",
        "job.sync.history": "история заказов (модуль)",
        "job.sync.icml": "файл каталога (модуль)",
        "job.crm.catalog_import": "импорт каталога (CRM)",
        "why.sync.inventories": "каждые {inventories} модуль читает остатки из CRM и, если остатки ведутся в CRM, "
                                "записывает их в WooCommerce поверх того, что показывает магазин",
        "why.sync.history": "каждые {history} модуль забирает из CRM историю изменений (заказы, статусы) "
                            "и применяет её к заказам WooCommerce",
        "why.sync.icml": "каждые {icml} модуль формирует файл каталога магазина (ICML) с остатками WooCommerce",
        "why.crm.catalog_import": "каждые {catalog_import} CRM загружает файл каталога магазина; если остатки "
                                  "ведутся на сайте, CRM берёт количество из этого файла",
        "action.checkout": "покупатель оформляет на сайте заказ: {qty} шт. {sku} (оплата при получении)",
        "action.crm.order_create": "менеджер CRM оформляет заказ: {qty} шт. {sku}",
        "action.crm.order_status": "менеджер CRM ставит заказу {order} статус «{status}»",
        "action.crm.item_status": "менеджер CRM ставит товарам заказа {order} статус «{status}»",
        "action.woo.order_status": "администратор магазина ставит заказу №{order} статус «{status}»",
        "setup.product": "товар {name} ({sku}), на складе {qty} шт.",
        "sim.start": "часы запущены; каждая задача ждёт своего первого запуска",
        "job.ok": "выполнено, запросов: {requests}",
        "job.failed": "ОШИБКА, запросов: {requests}",
        "job.skipped": "пропущено",
        "job.changed": "в магазине установлено: {items}",
        "import.applied": "из файла каталога прочитано предложений: {offers}; количество применено",
        "import.ignored": "из файла каталога прочитано предложений: {offers}; количество не применено "
                          "(остатки ведутся в CRM)",
        "change": "остаток {sku} ({system}): {old} -> {new}",
        "stock": "остатки сейчас: {cells}",
        "due": "дальше: {items}",
        "case": "Кейс {case}{statement}",
        "document": "Что говорит документ (setting-stock.ru.md):",
        "scenario": "Сценарий: {scenario} ({feature})",
        "speed.fast": "Часы: как можно быстрее (--speed N: N симулированных секунд в секунду)",
        "speed.paced": "Часы: {speed:g} симулированных секунд в секунду",
        "legend": "Легенда: * событие изменило остаток; -> что изменилось; > шаг сценария",
        "waiting": "ожидание: {clock}, далее {job} в {due}",
        "step.failed": "шаг не выполнен: {message}",
        "summary": "Что меняло остатки:",
        "summary.none": "(остаток: {system} не менялся)",
        "summary.line": "{clock}  {system}: {old} -> {new}  ({why})",
        "result.passed": "Все проверки сценария выполнены. Симулировано {simulated} за {wall:.2f} с.",
        "result.failed": "Сценарий НЕ ПРОШЁЛ. Симулировано {simulated} за {wall:.2f} с.",
    },
}

#: Gherkin keywords in Russian (as Gherkin's own ``# language: ru`` spells them).
KEYWORDS_RU = {"Given": "Дано", "When": "Когда", "Then": "Тогда", "And": "И", "But": "Но"}
SYSTEM_RU = {"shop": "магазине (WooCommerce)", "CRM": "CRM"}

#: The step sentences of features/steps/stock.py, in Russian; a step without one is printed as written.
STEPS_RU: tuple[tuple[str, str], ...] = (
    (r"stock is kept on the site", "остатки ведутся на сайте"),
    (r"stock is kept in the CRM", "остатки ведутся в CRM"),
    (r"the CRM cancels items when an order is cancelled",
     "в CRM настроена автоматическая отмена товаров при отмене заказа"),
    (r"the CRM does not cancel items when an order is cancelled",
     "в CRM не настроена автоматическая отмена товаров при отмене заказа"),
    (r"a product with (?P<n>\d+) units in stock", "товар, на складе {n} шт."),
    (r"a customer places an order for (?P<n>\d+) units on the site", "покупатель оформляет на сайте заказ на {n} шт."),
    (r"a CRM manager creates an order for (?P<n>\d+) units", "менеджер CRM оформляет заказ на {n} шт."),
    (r'the CRM manager sets the order status to "(?P<s>.+)"', "менеджер CRM ставит заказу статус «{s}»"),
    (r'the CRM manager gives the order\'s items the "(?P<s>.+)" item status',
     "менеджер CRM ставит товарам заказа статус «{s}»"),
    (r'the shop admin sets the order status to "(?P<s>.+)"', "администратор магазина ставит заказу статус «{s}»"),
    (r"(?P<n>\d+) minutes? pass(es)?", "проходит {n} мин."),
    (r"the (?P<sys>shop|CRM) stock is (?P<n>-?\d+) at once", "остаток в {sys} сразу {n}"),
    (r"the (?P<sys>shop|CRM) stock becomes (?P<n>-?\d+) within (?P<m>\d+) minutes",
     "остаток в {sys} становится {n} не позже чем через {m} мин."),
    (r"the (?P<sys>shop|CRM) stock stays (?P<n>-?\d+) until the next stock sync, which sets it (back )?to (?P<m>-?\d+)",
     "остаток в {sys} остаётся {n} до следующей синхронизации остатков, которая ставит {m}"),
    (r"the (?P<sys>shop|CRM) stock stays (?P<n>-?\d+) until the first catalog import after the shop's next catalog "
     r"file, which sets it (back )?to (?P<m>-?\d+)",
     "остаток в {sys} остаётся {n} до первого импорта каталога после следующего файла каталога, который ставит {m}"),
    (r"the (?P<sys>shop|CRM) stock stays (?P<n>-?\d+) for (?P<m>\d+) minutes", "остаток в {sys} остаётся {n} ещё {m} мин."),
    (r"the (?P<sys>shop|CRM) stock has been (?P<n>-?\d+) throughout", "остаток в {sys} всё время {n}"),
    (r"the next stock sync keeps the (?P<sys>shop|CRM) stock at (?P<n>-?\d+)",
     "следующая синхронизация остатков оставляет остаток в {sys} равным {n}"),
)


def text(lang: str, key: str, **values: Any) -> str:
    return TEXT[lang][key].format(**values)


def step_text(lang: str, keyword: str, sentence: str) -> str:
    """A step as a person reads it: Gherkin's keyword and sentence, translated when ``lang`` is ru."""
    if lang != "ru":
        return f"{keyword} {sentence}"
    for pattern, template in STEPS_RU:
        match = re.fullmatch(pattern, sentence)
        if match:
            values = {k: v for k, v in match.groupdict().items() if v is not None}
            if "sys" in values:
                values["sys"] = SYSTEM_RU[values["sys"]]
            return f"{KEYWORDS_RU.get(keyword, keyword)} {template.format(**values)}"
    return f"{KEYWORDS_RU.get(keyword, keyword)} {sentence}"


def duration_text(lang: str, seconds: float) -> str:
    minutes = int(round(seconds / 60))
    if minutes % 60 == 0 and minutes >= 60:
        hours = minutes // 60
        return (f"{hours} h" if lang == "en" else f"{hours} ч")
    return f"{minutes} min" if lang == "en" else f"{minutes} мин"


def event_text(lang: str, event: Event) -> str:
    """What the event did, in ``lang``; an event without a translation keeps its recorded detail."""
    facts = event.facts
    key = event.kind
    if key.startswith("sync."):
        return job_text(lang, facts) if lang != "en" else event.detail
    if key == "crm.catalog_import":
        if lang == "en":
            return event.detail
        return text(lang, "import.applied" if facts.get("quantities_applied") else "import.ignored",
                    offers=facts.get("offers", 0))
    if key in TEXT[lang]:
        try:
            return text(lang, key, **facts)
        except KeyError:  # an action recorded without its facts: keep the English detail
            return event.detail
    return event.detail


def job_text(lang: str, facts: dict[str, Any]) -> str:
    if not facts.get("ran", True):
        return text(lang, "job.skipped")
    line = text(lang, "job.ok" if facts.get("ok", True) else "job.failed", requests=facts.get("requests", 0))
    changed = facts.get("changed") or {}
    if changed:
        line += "; " + text(lang, "job.changed", items=", ".join(f"#{pid} = {_q(qty)}" for pid, qty in changed.items()))
    return line


class Narrator:
    """Prints a simulation's events as they are recorded; keeps what changed the stock for the summary."""

    def __init__(self, lang: str = "en", out: TextIO | None = None,
                 next_due: Callable[[], dict[str, float]] | None = None,
                 intervals: dict[str, float] | None = None) -> None:
        if lang not in LANGS:
            raise ValueError(f"unknown language {lang!r}; known: {', '.join(LANGS)}")
        self.lang = lang
        self.out = out or sys.stdout
        self.next_due: Callable[[], dict[str, float]] = dict
        self.intervals: dict[str, str] = {}
        self.follow(next_due or dict, intervals or {})
        self.previous: Event | None = None
        self.explained: set[str] = set()
        #: (event, system, sku, old, new) for every stock change, in order.
        self.changes: list[tuple[Event, str, str, int | None, int | None]] = []
        self.waiting_shown = False

    def follow(self, next_due: Callable[[], dict[str, float]], intervals: dict[str, float]) -> None:
        """Read what is due next from ``next_due``; say each job's interval as ``intervals`` gives it."""
        self.next_due = next_due
        self.intervals = {name: duration_text(self.lang, s) for name, s in intervals.items()}

    def t(self, key: str, **values: Any) -> str:
        return text(self.lang, key, **values)

    def say(self, line: str = "") -> None:
        self.end_waiting()
        print(line, file=self.out, flush=True)

    # -- events -------------------------------------------------------------------
    def on_event(self, event: Event) -> None:
        changes = self.stock_changes(event)
        name = self.t(f"job.{event.kind}") if f"job.{event.kind}" in TEXT[self.lang] else ""
        what = event_text(self.lang, event)
        marker = "*" if changes else " "
        head = f"{name}: {what}" if name else what
        self.say(f"{clock_text(event.t):>8} {marker} {head}")
        if event.kind in JOB_KINDS.values() and event.kind not in self.explained:
            self.explained.add(event.kind)
            self.say(" " * 11 + "(" + self.t(f"why.{event.kind}", **self.intervals) + ")")
        for system, sku, old, new in changes:
            self.changes.append((event, system, sku, old, new))
            self.say(" " * 11 + "-> " + self.t("change", system=self.t(system), sku=sku, old=_q(old), new=_q(new)))
        if event.stock and (changes or event.kind.startswith(("action.", "setup."))):
            self.say(" " * 11 + self.t("stock", cells=self.stock_cells(event)))
        if event.kind.startswith(("action.", "sync.", "crm.")) or event.kind == "sim.start":
            due = self.due_text()
            if due:
                self.say(" " * 11 + self.t("due", items=due))
        self.previous = event

    def stock_changes(self, event: Event) -> list[tuple[str, str, int | None, int | None]]:
        before = self.previous.stock if self.previous else {}
        found = []
        for system in ("crm", "woo"):
            for sku, new in sorted(event.stock.get(system, {}).items()):
                old = before.get(system, {}).get(sku, new)
                if old != new:
                    found.append((system, sku, old, new))
        return found

    def stock_cells(self, event: Event) -> str:
        return ", ".join(f"{self.t(system)} {sku} {_q(qty)}" for system in ("crm", "woo")
                         for sku, qty in sorted(event.stock.get(system, {}).items()))

    def due_text(self) -> str:
        due = sorted(self.next_due().items(), key=lambda item: item[1])
        return ", ".join(f"{self.t('job.' + JOB_KINDS[name]).split(' (')[0]} {clock_text(t)}" for name, t in due)

    # -- steps ---------------------------------------------------------------------
    def step_started(self, keyword: str, sentence: str) -> None:
        self.say(f"  > {step_text(self.lang, keyword, sentence)}")

    def step_failed(self, message: str) -> None:
        self.say("    X " + self.t("step.failed", message=message.strip().splitlines()[0] if message.strip() else "?"))

    # -- a paced clock: show time passing between events ------------------------------
    def waiting(self, now: float) -> None:
        due = sorted(self.next_due().items(), key=lambda item: item[1])
        if not due:
            return
        name, t = due[0]
        line = self.t("waiting", clock=clock_text(now), job=self.t("job." + JOB_KINDS[name]).split(" (")[0],
                      due=clock_text(t))
        if self.out.isatty():
            print("\r" + " " * 11 + line + "\x1b[K", end="", file=self.out, flush=True)
            self.waiting_shown = True
        else:
            print(" " * 11 + line, file=self.out, flush=True)

    def end_waiting(self) -> None:
        if self.waiting_shown:
            print("\r\x1b[K", end="", file=self.out, flush=True)
            self.waiting_shown = False

    # -- the end -------------------------------------------------------------------
    def summary(self) -> list[str]:
        lines = [self.t("summary")]
        for system in ("woo", "crm"):
            mine = [c for c in self.changes if c[1] == system]
            if not mine:
                lines.append("  " + self.t("summary.none", system=self.t(system)))
            for event, _, sku, old, new in mine:
                why = self.t(f"job.{event.kind}") if f"job.{event.kind}" in TEXT[self.lang] else event_text(self.lang, event)
                lines.append("  " + self.t("summary.line", clock=clock_text(event.t), system=f"{self.t(system)} {sku}",
                                           old=_q(old), new=_q(new), why=why))
        return lines


def _q(qty: int | None) -> str:
    return "-" if qty is None else str(qty)
