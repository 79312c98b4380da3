"""``--stocksim-report``: cucumber JSON and the HTML report, the same under pytest-xdist as serially, and the
HTML report opened in a real browser (Debian's headless Chromium) to find every scenario and its chart."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from gherkin.parser import Parser

from sim.cases import FEATURES_DIR
from sim.timeline import timeline_schema

#: The ten scenarios of the two mode feature files: the documented table rows and branches.
HOME = ("(mode_site or mode_crm) and not (binding or oversell or prerequisites or warehouses or cadence or faults "
        "or known_difference)")
HOME_FEATURES = ("stock_kept_on_site.feature", "stock_kept_in_crm.feature")


def run_scenarios(report: Path, *extra: str) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "pytest", str(FEATURES_DIR / "test_documented_cases.py"), "-p", "no:cacheprovider",
            "-q", "--stocksim-report", str(report), f"--junitxml={report / 'junit.xml'}", *extra]
    return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=report.parent)


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The home scenarios under xdist and serially, and C1 failing, all started together."""
    base = tmp_path_factory.mktemp("reports")
    runs = {
        "xdist": run_scenarios(base / "xdist", "-m", HOME, "-n", "2"),
        "serial": run_scenarios(base / "serial", "-m", HOME),
        "failing": run_scenarios(base / "failing", "-m", f"C1 and {HOME}", "--crm-setting",
                                 "item_cancel_returns_stock=false"),
    }
    for name, process in runs.items():
        out, _ = process.communicate(timeout=600)
        expected = 1 if name == "failing" else 0
        assert process.returncode == expected, f"{name} run exited {process.returncode}:\n{out[-3000:]}"
    return {name: base / name for name in runs}


def cucumber(directory: Path) -> list[dict[str, Any]]:
    return json.loads((directory / "cucumber.json").read_text(encoding="utf-8"))


def scenarios(document: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [element for feature in document for element in feature["elements"]]


def gherkin_steps() -> dict[str, list[str]]:
    """Each home scenario's steps as the feature files write them (background first)."""
    found: dict[str, list[str]] = {}
    for name in HOME_FEATURES:
        feature = Parser().parse((FEATURES_DIR / name).read_text(encoding="utf-8"))["feature"]
        background: list[str] = []
        for child in feature["children"]:
            if "background" in child:
                background = [s["text"] for s in child["background"]["steps"]]
            if "scenario" in child:
                found[child["scenario"]["name"]] = background + [s["text"] for s in child["scenario"]["steps"]]
    return found


def test_cucumber_json_under_xdist_has_every_scenario_and_step(reports: dict[str, Path]) -> None:
    document = cucumber(reports["xdist"])
    assert sorted(f["uri"] for f in document) == sorted(f"features/{n}" for n in HOME_FEATURES)
    expected = gherkin_steps()
    got = {s["name"]: [step["name"] for step in s["steps"]] for s in scenarios(document)}
    assert got == expected
    for scenario in scenarios(document):
        assert {step["result"]["status"] for step in scenario["steps"]} == {"passed"}, scenario["name"]
        assert all(step["keyword"].strip() in ("Given", "When", "Then", "And", "But") for step in scenario["steps"])
        assert any(tag["name"] in ("@W1", "@W2", "@W3", "@C1", "@C2", "@C3", "@C_preamble") for tag in scenario["tags"])
        embedded = scenario["steps"][-1]["embeddings"][0]
        assert embedded["mime_type"] == "application/json"
        import base64

        timeline = json.loads(base64.b64decode(embedded["data"]))
        jsonschema.validate(timeline, timeline_schema())
        assert timeline["scenario"] == scenario["name"]


def test_xdist_and_serial_runs_write_the_same_reports(reports: dict[str, Path]) -> None:
    def without_durations(document: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for scenario in scenarios(document):
            for step in scenario["steps"]:
                step["result"].pop("duration")
        return document

    assert without_durations(cucumber(reports["xdist"])) == without_durations(cucumber(reports["serial"]))
    html = [re.sub(r"\s+", " ", (reports[k] / "index.html").read_text(encoding="utf-8")) for k in ("xdist", "serial")]
    assert html[0] == html[1]


def test_junit_xml_lists_every_scenario(reports: dict[str, Path]) -> None:
    suite = ET.parse(reports["xdist"] / "junit.xml").getroot().find("testsuite")
    assert suite is not None
    assert (int(suite.get("tests", 0)), int(suite.get("failures", 0)), int(suite.get("errors", 0))) == (10, 0, 0)


def test_a_failing_scenario_shows_its_expected_and_actual_timeline(reports: dict[str, Path]) -> None:
    (scenario,) = scenarios(cucumber(reports["failing"]))
    statuses = [(step["name"], step["result"]["status"]) for step in scenario["steps"]]
    failed = [name for name, status in statuses if status == "failed"]
    assert failed == ["the CRM stock is 10 at once"]
    after = statuses[[name for name, _ in statuses].index(failed[0]) + 1:]
    assert after and {status for _, status in after} == {"skipped"}
    error = next(s["result"]["error_message"] for s in scenario["steps"] if s["result"]["status"] == "failed")
    assert "the CRM stock is 8, expected 10" in error

    html = (reports["failing"] / "index.html").read_text(encoding="utf-8")
    section = html[html.index('<section class="scenario failed"'):]
    assert "expected (the scenario's checks)" in section and "actual (the run)" in section
    expected_side = section[section.index("expected (the scenario"):section.index("actual (the run)")]
    # The failing check, with the value it expected and the one the run showed, marked FAILED.
    assert re.search(r'<tr class="bad"><td class="n">0:15:00</td><td>the CRM stock is 10 at once</td>'
                     r"<td class=n>10</td><td class=n>8</td><td>FAILED</td>", expected_side)
    assert "the CRM stock is 8, expected 10" in expected_side
    actual_side = section[section.index("actual (the run)"):]
    assert "action.crm.item_status" in actual_side and "sync.inventories" in actual_side


# -- in a browser ------------------------------------------------------------------------------
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync")


def chromium() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        message = "Debian's chromium is not installed (apt-get install chromium; .ci/run does)"
        if os.environ.get("STOCKSIM_REQUIRE_CHROMIUM"):
            pytest.fail(message)
        pytest.skip(message)
    return path


def rendered_dom(page: Path, profile: Path) -> str:
    """The page's DOM after Chromium loaded it and ran its script."""
    done = subprocess.run([chromium(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", page.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.mark.parametrize("run", ["xdist", "failing"])
def test_chromium_finds_every_scenario_of_the_report_and_its_chart(reports: dict[str, Path], run: str,
                                                                    tmp_path: Path) -> None:
    names = [s["name"] for s in scenarios(cucumber(reports[run]))]
    dom = rendered_dom(reports[run] / "index.html", tmp_path / "profile")
    # The page's script counts the sections and the charts whose SVG the browser laid out with a non-empty box.
    check = re.search(r'<p id="browser-check">([^<]*)</p>', dom)
    assert check is not None and check.group(1) == f"{len(names)} scenarios, {len(names)} charts rendered"
    sections = re.findall(r'<section class="scenario [^"]*"[^>]*>.*?</section>', dom, re.S)
    assert len(sections) == len(names)
    for name, section in zip(names, sections):
        assert 'data-chart-rendered="yes"' in section and "<svg" in section
        assert name.replace("'", "&#x27;") in section or name in section, name


def test_chromium_renders_the_demo_page(tmp_path: Path) -> None:
    done = subprocess.run([sys.executable, "-m", "sim.cli", "demo", "C2", "--out", str(tmp_path)],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    dom = rendered_dom(tmp_path / "C2.html", tmp_path / "profile")
    assert '<p id="browser-check">1 scenarios, 1 charts rendered</p>' in dom
    assert "stock sync (module)" in dom
