"""Reports of a run: cucumber JSON and an HTML page, correct under pytest-xdist too.

Each worker turns a finished scenario into a plain, JSON-able record (its
feature, steps with their results, and its timeline) and hangs it on the test
report as ``report.stocksim``; pytest (and xdist, which serialises a report's
attributes) carries it to the controller, where ``ReportWriter`` collects the
records and writes ``cucumber.json`` and ``index.html`` at the end.
pytest-bdd's own cucumber JSON reads a registry that only exists in the
worker, which is why it comes out empty under xdist.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pytest_bdd.reporting import scenario_reports_registry

#: The attribute of a TestReport that carries a scenario's record.
RECORD = "stocksim"


def scenario_record(item: pytest.Item, report: pytest.TestReport) -> dict[str, Any]:
    """What the reports need of one scenario, as plain data (the caller adds its ``timeline`` document)."""
    bdd = scenario_reports_registry.get(item)
    record: dict[str, Any] = {"nodeid": item.nodeid, "timeline": None}
    if bdd is None:  # skipped or broken before pytest-bdd started the scenario
        feature_name, _, name = (getattr(getattr(item, "obj", None), "__doc__", None) or item.name).partition(": ")
        record.update(feature={"name": feature_name if name else "", "rel_filename": "", "line": 0,
                               "description": "", "tags": []},
                      scenario={"name": name or feature_name, "line": 0, "description": "", "keyword": "Scenario",
                                "tags": sorted(m.name for m in item.iter_markers())},
                      steps=[])
        return record
    data = bdd.serialize()
    feature = data["feature"]
    record["feature"] = {"name": feature["name"], "rel_filename": _feature_uri(feature["rel_filename"]),
                         "line": feature["line_number"], "description": feature["description"],
                         "tags": feature["tags"]}
    record["scenario"] = {"name": data["name"], "line": data["line_number"], "description": data["description"],
                          "keyword": data["keyword"], "tags": data["tags"]}
    record["steps"] = _steps(data["steps"], report)
    return record


def _feature_uri(rel_filename: str) -> str:
    """``features/cadences.feature`` whatever the working directory pytest ran in."""
    name = Path(rel_filename).name
    return f"features/{name}"


def _steps(steps: list[dict[str, Any]], report: pytest.TestReport) -> list[dict[str, Any]]:
    """pytest-bdd marks every step after a failing one as failed too; cucumber calls them skipped."""
    out = []
    failed_seen = False
    for step in steps:
        if failed_seen:
            status = "skipped"
        elif step["failed"]:
            status, failed_seen = "failed", True
        else:
            status = "passed"
        out.append({"keyword": step["keyword"], "name": step["name"], "line": step["line_number"],
                    "status": status, "duration": step["duration"] if status != "skipped" else 0.0})
    if report.failed and not failed_seen and out:
        # The scenario failed outside a step (a fixture's teardown): say so on its last step.
        out[-1]["status"] = "failed"
    return out


def outcome(report: pytest.TestReport) -> str:
    if hasattr(report, "wasxfail"):
        return "xfailed" if report.skipped else "xpassed"
    return report.outcome


class ReportWriter:
    """The controller's side: collect every scenario's record, write the reports when the session ends."""

    def __init__(self, directory: Path) -> None:
        from sim.html_report import ChartDrawer

        self.directory = directory
        self.records: dict[str, dict[str, Any]] = {}
        self.charts = ChartDrawer()

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        record = getattr(report, RECORD, None)
        if record is None:
            return
        known = self.records.get(report.nodeid)
        # The call phase's record wins; a setup or teardown failure is kept if the call had none or passed.
        if known is None or report.when == "call" or (report.failed and known["outcome"] == "passed"):
            error = report.longreprtext if report.failed else ""
            if known is not None and report.when != "call":
                record = {**known, "outcome": "failed", "error": (known.get("error") or "") + error}
            else:
                record = {**record, "outcome": outcome(report), "error": error,
                          "duration": report.duration, "when": report.when}
                if record.get("timeline"):  # drawn meanwhile, on another core
                    self.charts.submit(record["timeline"], record["scenario"]["name"])
            self.records[report.nodeid] = record

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.write()

    def write(self) -> None:
        from sim.html_report import write_index  # matplotlib is imported only if charts are drawn

        self.directory.mkdir(parents=True, exist_ok=True)
        records = self.ordered()
        (self.directory / "cucumber.json").write_text(json.dumps(cucumber(records), indent=1, ensure_ascii=False),
                                                      encoding="utf-8")
        try:
            write_index(self.directory / "index.html", records, self.charts)
        finally:
            self.charts.close()

    def ordered(self) -> list[dict[str, Any]]:
        """By feature file, then by line: the same order whatever order the workers finished in."""
        return sorted(self.records.values(),
                      key=lambda r: (r["feature"]["rel_filename"], r["scenario"]["line"], r["nodeid"]))


# -- cucumber JSON -------------------------------------------------------------------
CUCUMBER_STATUS = {"passed": "passed", "failed": "failed", "skipped": "skipped"}


def cucumber(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The cucumber JSON document: one element per feature, its scenarios under ``elements``."""
    features: dict[str, dict[str, Any]] = {}
    for record in records:
        feature = record["feature"]
        uri = feature["rel_filename"] or record["nodeid"]
        entry = features.setdefault(uri, {
            "keyword": "Feature", "uri": uri, "name": feature["name"], "id": _slug(feature["name"] or uri),
            "line": feature["line"], "description": feature["description"],
            "tags": [{"name": "@" + t, "line": max(feature["line"] - 1, 1)} for t in feature["tags"]],
            "elements": [],
        })
        entry["elements"].append(_element(record, entry["id"]))
    return list(features.values())


def _element(record: dict[str, Any], feature_id: str) -> dict[str, Any]:
    scenario = record["scenario"]
    steps = [_step(step, record) for step in record["steps"]]
    if steps and record.get("timeline"):
        steps[-1]["embeddings"] = [{"mime_type": "application/json", "name": "stocksim timeline",
                                    "data": _base64(json.dumps(record["timeline"], ensure_ascii=False))}]
    if not steps and record["outcome"] in ("skipped", "xfailed"):
        pass  # a scenario skipped before any step ran: cucumber shows it with no steps
    return {
        "keyword": scenario["keyword"], "id": f"{feature_id};{_slug(scenario['name'])}", "name": scenario["name"],
        "line": scenario["line"], "description": scenario["description"], "type": "scenario",
        "tags": [{"name": "@" + t, "line": max(scenario["line"] - 1, 1)} for t in scenario["tags"]],
        "steps": steps,
    }


def _step(step: dict[str, Any], record: dict[str, Any]) -> dict[str, Any]:
    status = step["status"]
    if record["outcome"] == "xfailed" and status == "failed":
        status = "skipped"  # an expected failure (strict xfail) is not a red step in a cucumber viewer
    result: dict[str, Any] = {"status": CUCUMBER_STATUS.get(status, "undefined"),
                              "duration": int(step["duration"] * 1e9)}
    if step["status"] == "failed" and record.get("error"):
        result["error_message"] = record["error"]
    return {"keyword": step["keyword"] + " ", "name": step["name"], "line": step["line"],
            "match": {"location": record["feature"]["rel_filename"] + ":" + str(step["line"])}, "result": result}


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "unnamed"


def _base64(text: str) -> str:
    import base64

    return base64.b64encode(text.encode("utf-8")).decode("ascii")
