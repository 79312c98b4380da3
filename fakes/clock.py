"""The fakes' view of simulated time.

The simulation owns time. A fake never reads the wall clock: it asks its
``Clock``, which either follows a function the simulation provides (in-process)
or holds a value set through the admin API (out of process).
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Callable

#: Simulated time 0. A fixed Monday morning, so every run prints the same dates.
EPOCH = datetime(2026, 1, 5, 9, 0, 0)

CRM_DATETIME = "%Y-%m-%d %H:%M:%S"
WC_DATETIME = "%Y-%m-%dT%H:%M:%S"


class Clock:
    """Seconds of simulated time since ``EPOCH``."""

    def __init__(self, seconds: float = 0.0) -> None:
        self._seconds = seconds
        self._source: Callable[[], float] | None = None
        self._lock = threading.Lock()
        # The last moment formatted, per format: simulated time stands still while a connector job
        # or a catalog import runs, and each formats it thousands of times (every product save
        # stamps date_modified).
        self._formatted: dict[str, tuple[float, str]] = {}

    def now(self) -> float:
        source = self._source
        return source() if source is not None else self._seconds

    def set(self, seconds: float) -> None:
        with self._lock:
            self._source = None
            self._seconds = float(seconds)

    def follow(self, source: Callable[[], float]) -> None:
        """Read time from ``source`` (e.g. ``lambda: env.now``) from now on."""
        with self._lock:
            self._source = source

    def datetime(self) -> datetime:
        return EPOCH + timedelta(seconds=self.now())

    def crm_format(self) -> str:
        return self._format(CRM_DATETIME)

    def wc_format(self) -> str:
        return self._format(WC_DATETIME)

    def _format(self, pattern: str) -> str:
        now = self.now()
        cached = self._formatted.get(pattern)
        if cached is not None and cached[0] == now:
            return cached[1]
        text = (EPOCH + timedelta(seconds=now)).strftime(pattern)
        self._formatted[pattern] = (now, text)  # one tuple assignment: safe across threads
        return text


def at(seconds: float) -> datetime:
    return EPOCH + timedelta(seconds=seconds)
