"""Charts of a timeline: both systems' stock over simulated time, with actions and job runs marked.

Top panel: one step line per system and SKU (the CRM solid, WooCommerce dashed),
each action a dotted vertical line labelled with what was done (up to eight), and the
scenario's checks: a dot where a value was expected at an instant, a bar where
it had to hold over a span; green when the check held, red (with a cross at
the value the run showed) when it did not. Bottom panel: one lane per job, a
tick at every run, filled when the run changed a stock.

matplotlib (the ``charts`` extra) draws them; it is imported on first use, so
everything else works without it.
"""

from __future__ import annotations

import io
from typing import Any

from sim.timeline import Event, Timeline, clock_text

#: Lanes of the bottom panel, top to bottom: event kind -> label.
LANES = {
    "en": {"action.": "actions", "sync.inventories": "stock sync", "sync.history": "order history",
           "sync.icml": "catalog file", "crm.catalog_import": "catalog import"},
    "ru": {"action.": "действия", "sync.inventories": "синхр. остатков", "sync.history": "история заказов",
           "sync.icml": "файл каталога", "crm.catalog_import": "импорт каталога"},
}
LABELS = {
    "en": {"crm": "CRM", "woo": "WooCommerce", "time": "simulated time (h:mm)", "stock": "stock",
           "expected": "expected (check held)", "failed": "expected (check FAILED)", "actual": "actual at the check"},
    "ru": {"crm": "CRM", "woo": "WooCommerce", "time": "симулированное время (ч:мм)", "stock": "остаток",
           "expected": "ожидалось (проверка прошла)", "failed": "ожидалось (проверка НЕ прошла)",
           "actual": "было на момент проверки"},
}
#: Short labels of actions on the chart.
ACTION_LABELS = {
    "en": {"checkout": "site order", "crm.order_create": "CRM order", "crm.order_status": "CRM order status",
           "crm.item_status": "CRM item status", "woo.order_status": "shop order status"},
    "ru": {"checkout": "заказ на сайте", "crm.order_create": "заказ в CRM", "crm.order_status": "статус заказа CRM",
           "crm.item_status": "статус товара CRM", "woo.order_status": "статус заказа в магазине"},
}
COLOURS = {"crm": "#1f5fbf", "woo": "#c0511f"}
#: Up to this many actions get a labelled line in the top panel.
MOST_MARKED_ACTIONS = 8
OK, FAILED = "#2e8b3a", "#d62728"


class ChartsUnavailable(RuntimeError):
    """matplotlib is not installed."""


def _matplotlib() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise ChartsUnavailable("charts need matplotlib: pip install 'stocksim[charts]'") from None
    matplotlib.rcParams["svg.hashsalt"] = "stocksim"  # the same timeline gives the same SVG
    matplotlib.rcParams["svg.fonttype"] = "none"  # text stays text: smaller, searchable
    return matplotlib


def stock_chart(timeline: Timeline, title: str, lang: str = "en") -> Any:
    """A matplotlib Figure of the timeline (no pyplot: safe in threads and without a display)."""
    _matplotlib()
    from matplotlib.figure import Figure
    from matplotlib.ticker import FuncFormatter, MultipleLocator

    events = sorted(timeline.events, key=lambda e: e.t)
    end = max([e.t for e in events] + [c.t for c in timeline.checks] + [60.0])
    fig = Figure(figsize=(10, 5.2))
    # Fixed margins with room for the lane labels (left) and the legend (right): the constrained
    # layout engine worked them out anew for every chart, a third of a report's chart time.
    fig.subplots_adjust(left=0.12, right=0.74, top=0.93, bottom=0.1, hspace=0.07)
    stock_ax, lanes_ax = fig.subplots(2, 1, sharex=True, height_ratios=[3.2, 1.3])
    fig.suptitle(title, fontsize=11)
    _draw_stock(stock_ax, events, end, lang)
    _draw_checks(stock_ax, timeline, lang)
    _draw_actions(stock_ax, events, end, lang)
    _draw_lanes(lanes_ax, events, lang)
    ticks = FuncFormatter(lambda x, _pos: clock_text(x)[:-3])
    lanes_ax.xaxis.set_major_formatter(ticks)
    lanes_ax.xaxis.set_major_locator(MultipleLocator(tick_step(end)))
    lanes_ax.set_xlim(-end * 0.02, end * 1.03)
    lanes_ax.set_xlabel(LABELS[lang]["time"])
    stock_ax.set_ylabel(LABELS[lang]["stock"])
    stock_ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    return fig


#: Candidate distances between time ticks, in simulated seconds: 1, 5, 10, 15, 30 minutes, 1, 2, 4, 6, 12, 24 hours.
TICK_STEPS = (60, 300, 600, 900, 1800, 3600, 7200, 14400, 21600, 43200, 86400)


def tick_step(span: float, most: int = 10) -> float:
    """The smallest round step giving at most ``most`` ticks over ``span`` seconds."""
    return next((step for step in TICK_STEPS if span / step <= most), TICK_STEPS[-1] * (span // (TICK_STEPS[-1] * most) + 1))


def _draw_stock(ax: Any, events: list[Event], end: float, lang: str) -> None:
    skus = sorted({sku for e in events for side in e.stock.values() for sku in side})
    for system in ("crm", "woo"):
        for sku in skus:
            points = [(e.t, e.qty(system, sku)) for e in events if sku in e.stock.get(system, {})]
            if not points:
                continue
            times = [t for t, _ in points] + [end]
            values = [float("nan") if q is None else q for _, q in points]
            values.append(values[-1])
            label = LABELS[lang][system] + (f" {sku}" if len(skus) > 1 else "")
            ax.step(times, values, where="post", color=COLOURS[system], linewidth=2.2 if system == "crm" else 1.8,
                    linestyle="-" if system == "crm" else "--", label=label)
    ax.yaxis.get_major_locator().set_params(integer=True)
    quantities = [q for e in events for side in e.stock.values() for q in side.values() if q is not None]
    if quantities:
        ax.set_ylim(min(quantities) - 0.7, max(quantities) + 0.7)
    ax.grid(axis="y", alpha=0.3)


def _draw_checks(ax: Any, timeline: Timeline, lang: str) -> None:
    shown: set[str] = set()

    def label(key: str) -> str | None:
        if key in shown:
            return None
        shown.add(key)
        return LABELS[lang][key]

    for check in timeline.checks:
        if check.expected is None:
            continue
        colour = OK if check.ok else FAILED
        key = "expected" if check.ok else "failed"
        if check.t_from < check.t:
            ax.hlines(check.expected, check.t_from, check.t, colors=colour, linewidth=6, alpha=0.25, label=label(key))
        else:
            ax.plot([check.t], [check.expected], "o", color=colour, markersize=7, markerfacecolor="none",
                    markeredgewidth=2, label=label(key))
        if not check.ok and check.actual is not None:
            ax.plot([check.t], [check.actual], "x", color=FAILED, markersize=9, markeredgewidth=2.5,
                    label=label("actual"))


def _draw_actions(ax: Any, events: list[Event], end: float, lang: str) -> None:
    names = ACTION_LABELS[lang]
    actions = [e for e in events if e.kind.startswith("action.")]
    # Many actions (an oversell run) would bury the stock lines: the actions lane below still marks each one.
    if len(actions) > MOST_MARKED_ACTIONS:
        return
    for n, event in enumerate(actions):
        ax.axvline(event.t, color="#555555", linestyle=":", linewidth=1)
        kind = event.kind.removeprefix("action.")
        # A label near the right edge goes left of its line, so it stays inside the panel.
        left = event.t > 0.7 * end
        ax.annotate(names.get(kind, kind), xy=(event.t, 1.0), xycoords=("data", "axes fraction"),
                    xytext=(-3 if left else 3, -12 - 11 * (n % 3)), textcoords="offset points", fontsize=8,
                    color="#333333", ha="right" if left else "left")


def _draw_lanes(ax: Any, events: list[Event], lang: str) -> None:
    lanes = list(LANES[lang].items())
    changed_stock = [i > 0 and events[i - 1].stock != e.stock for i, e in enumerate(events)]
    for row, (prefix, _) in enumerate(lanes):
        runs = [(e.t, changed_stock[i]) for i, e in enumerate(events) if e.kind.startswith(prefix)]
        changed = [t for t, did in runs if did]
        quiet = [t for t, did in runs if not did]
        y = len(lanes) - 1 - row
        ax.plot(quiet, [y] * len(quiet), "|", color="#888888", markersize=10)
        ax.plot(changed, [y] * len(changed), "|", color="#000000", markersize=14, markeredgewidth=2.5)
    ax.set_yticks(range(len(lanes)), [label for _, label in reversed(lanes)], fontsize=8)
    ax.set_ylim(-0.7, len(lanes) - 0.3)
    ax.grid(axis="x", alpha=0.3)


def svg(fig: Any) -> str:
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None})
    return buffer.getvalue()


def png(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, metadata={"Software": None})
    return buffer.getvalue()


def inline_svg(fig: Any) -> str:
    """The SVG without its XML prolog, to put in an HTML page."""
    text = svg(fig)
    return text[text.index("<svg"):]
