"""What the measurements share: progress on stderr, the machine, peak memory, profiling."""

from __future__ import annotations

import os
import platform
import resource
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator


class BenchError(RuntimeError):
    """A measurement could not run or measured nothing; the message says why."""


def progress(message: str) -> None:
    """Progress for a person watching: always stderr, so ``--json`` keeps stdout clean."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    return {"python": platform.python_version(), "implementation": platform.python_implementation(),
            "cpus": os.cpu_count(), "cpu_model": _cpu_model(), "system": f"{platform.system()} {platform.release()}"}


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "unknown"


def peak_rss_bytes(who: int = resource.RUSAGE_SELF) -> int:
    """Peak resident set size; Linux reports kilobytes, macOS bytes."""
    peak = resource.getrusage(who).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024


def require_pyinstrument() -> Any:
    try:
        import pyinstrument
    except ImportError:
        raise BenchError("--profile needs pyinstrument: pip install 'stocksim[bench]'") from None
    return pyinstrument


class ThreadProfiles:
    """pyinstrument samples one thread; the fakes answer on waitress's worker threads.

    Wrapping a fake's WSGI app with ``wrap`` profiles every request on the thread that
    serves it (a profiler per thread, started and stopped around each request, whose
    sessions pyinstrument combines); ``session()`` is all of them together.
    """

    def __init__(self, interval: float = 0.0002) -> None:
        self.interval = interval
        self._local = threading.local()
        self._profilers: list[Any] = []
        self._lock = threading.Lock()

    def _profiler(self) -> Any:
        profiler = getattr(self._local, "profiler", None)
        if profiler is None:
            from pyinstrument import Profiler
            profiler = self._local.profiler = Profiler(interval=self.interval, async_mode="disabled")
            with self._lock:
                self._profilers.append(profiler)
        return profiler

    def wrap(self, app: Callable[..., Any]) -> Callable[..., Any]:
        def profiled(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
            profiler = self._profiler()
            profiler.start()
            try:
                return list(app(environ, start_response))  # the body is rendered inside the profile
            finally:
                profiler.stop()
        return profiled

    def session(self) -> Any:
        from pyinstrument.session import Session
        sessions = [p.last_session for p in self._profilers if p.last_session is not None]
        if not sessions:
            return None
        combined = sessions[0]
        for other in sessions[1:]:
            combined = Session.combine(combined, other)
        return combined


def write_profile(directory: Path, name: str, session: Any) -> list[str]:
    """``name``.html and ``name``.txt of a pyinstrument session; answers the paths written."""
    if session is None:
        return []
    from pyinstrument.renderers import ConsoleRenderer, HTMLRenderer
    directory.mkdir(parents=True, exist_ok=True)
    html, text = directory / f"{name}.html", directory / f"{name}.txt"
    html.write_text(HTMLRenderer().render(session), encoding="utf-8")
    text.write_text(ConsoleRenderer(unicode=False, color=False, show_all=False, short_mode=False,
                                    time="percent_of_total").render(session), encoding="utf-8")
    return [str(html), str(text)]


@contextmanager
def profiled(directory: Path | None, name: str) -> Iterator[list[str]]:
    """Profile the calling thread into ``directory``/``name``.{html,txt} when a directory is given."""
    written: list[str] = []
    if directory is None:
        yield written
        return
    from pyinstrument import Profiler
    profiler = Profiler(interval=0.0005, async_mode="disabled")
    profiler.start()
    try:
        yield written
    finally:
        session = profiler.stop()
        written += write_profile(directory, name, session)


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    def seconds(self) -> float:
        return time.perf_counter() - self.started
