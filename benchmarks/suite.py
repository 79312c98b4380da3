"""The full acceptance suite, as ``stocksim run`` runs it: wall time against simulated time.

Runs in a child process (``python -m benchmarks.suite OUT.json``), so the figure
includes what a CI job pays: interpreter start, collection, the fakes' start-up and
every scenario. The run's plugin records each scenario's simulated seconds in its
report (``user_properties`` ``sim_seconds``); ``sim.cli.CaseResults`` collects them,
as ``stocksim run`` does, with the same pytest command line (its plugins, its JUnit XML,
cucumber JSON and HTML report with charts). The child writes its figures to OUT.json and leaves
stdout/stderr to pytest (the parent sends both to its stderr).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.common import BenchError, progress


def run(profile_dir: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="stocksim-bench-") as tmp:
        out = Path(tmp) / "suite.json"
        command = [sys.executable, "-m", "benchmarks.suite", str(out)]
        if profile_dir is not None:
            command.append(str(profile_dir))
        progress("suite: running the acceptance suite (pytest on the installed features) in a child process")
        started = time.perf_counter()
        done = subprocess.run(command, stdout=sys.stderr, stderr=sys.stderr)
        process_wall = time.perf_counter() - started
        if not out.exists():
            raise BenchError(f"the suite's child process ended with code {done.returncode} and no figures")
        figures = json.loads(out.read_text(encoding="utf-8"))
    figures["process_wall_seconds"] = process_wall
    figures["exit_code"] = done.returncode
    figures["ratio"] = figures["simulated_seconds"] / process_wall if process_wall else 0.0
    return figures


def _child(out: Path, profile_dir: Path | None) -> int:
    import pytest

    from sim.cli import CaseResults, build_parser, run_pytest_args

    results = CaseResults()
    # stocksim run's own command line, reports included, into the parent's temporary folder
    args = run_pytest_args(build_parser().parse_args(["run", "--report", str(out.parent / "reports")]))
    profiler = None
    if profile_dir is not None:
        from pyinstrument import Profiler
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        profiler.start()
    started = time.perf_counter()
    code = pytest.main(args, plugins=[results])
    wall = time.perf_counter() - started
    profiles: list[str] = []
    if profiler is not None:
        from benchmarks.common import write_profile
        profiles = write_profile(profile_dir, "suite-client", profiler.stop())  # type: ignore[arg-type]
    outcomes = list(results.outcome.values())
    out.write_text(json.dumps({
        "pytest_wall_seconds": wall, "simulated_seconds": sum(results.sim_seconds.values()),
        "scenarios": len(results.sim_seconds), "tests": len(outcomes),
        "passed": outcomes.count("passed"), "failed": outcomes.count("failed"), "skipped": outcomes.count("skipped"),
        "pytest_exit_code": int(code), "profiles": profiles,
    }), encoding="utf-8")
    return int(code)


if __name__ == "__main__":
    sys.exit(_child(Path(sys.argv[1]), Path(sys.argv[2]) if len(sys.argv) > 2 else None))
