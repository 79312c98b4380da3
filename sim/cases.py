"""The source document's cases and branches, and which scenarios cover them.

Case ids W1..C3 are defined in the source document's English rendering;
``C-pre`` names the mode-C preamble's "if". A scenario claims a case with
its case tag (``@W1``) and, where the row has an "if", a branch tag.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable

from gherkin.parser import Parser

import features

FEATURES_DIR = Path(features.__file__).resolve().parent


@dataclass(frozen=True)
class Case:
    id: str
    tag: str
    branch: str  # "" when the row has no "if"
    branch_tag: str
    statement: str

    @property
    def label(self) -> str:
        return f"{self.id} {self.branch}".strip()


CASES: tuple[Case, ...] = (
    Case("W1", "W1", "auto-cancel on", "auto_cancel_on",
         "Site order, then Cancelled in WooCommerce: both systems write off at once; WooCommerce returns at once; "
         "the CRM returns at once when it auto-cancels items"),
    Case("W1", "W1", "auto-cancel off", "auto_cancel_off",
         "... otherwise the CRM returns the stock only with the next catalog update"),
    Case("W2", "W2", "", "",
         "CRM order, then a Completed-group status: no write-off in the CRM; WooCommerce writes off when the status arrives"),
    Case("W3", "W3", "", "",
         "CRM order, then a Cancel-group status: no write-off in the CRM (nor on an item cancel status); "
         "WooCommerce returns nothing"),
    Case("C1", "C1", "", "",
         "CRM order, then an item status from the Cancel group: the CRM returns the stock; "
         "WooCommerce is updated within 15 minutes"),
    Case("C2", "C2", "", "",
         "Site order: uploaded to the CRM, written off there, and that write-off reaches WooCommerce"),
    Case("C3", "C3", "auto-cancel on", "auto_cancel_on",
         "Site order, then Cancelled in the WooCommerce admin: with auto-cancel the CRM returns the stock, "
         "and later so does WooCommerce"),
    Case("C3", "C3", "auto-cancel off", "auto_cancel_off",
         "... without auto-cancel the CRM keeps the write-off (the real module then lowers WooCommerce again)"),
    Case("C-pre", "C_preamble", "items get a cancel status", "items_cancelled",
         "Mode C: if the order status gives the items a cancel status, stock returns in the CRM "
         "and 15 minutes later in WooCommerce"),
    Case("C-pre", "C_preamble", "items keep their status", "items_not_cancelled",
         "Mode C: if it does not, stock returns neither in the CRM nor in WooCommerce"),
)

MODE_TAGS = ("mode_site", "mode_crm")
SOURCE_TAGS = ("documented", "module")


def all_tags() -> list[str]:
    tags = {c.tag for c in CASES} | {c.branch_tag for c in CASES if c.branch_tag}
    return sorted(tags | set(MODE_TAGS) | set(SOURCE_TAGS))


def covers(case: Case, tags: Iterable[str]) -> bool:
    tags = set(tags)
    return case.tag in tags and (not case.branch_tag or case.branch_tag in tags)


@dataclass(frozen=True)
class ScenarioRef:
    feature: str
    name: str
    tags: frozenset[str]


def scenarios_in(features_dir: Path = FEATURES_DIR) -> list[ScenarioRef]:
    """Every scenario of every feature file, with feature and scenario tags merged."""
    found: list[ScenarioRef] = []
    for path in sorted(features_dir.glob("*.feature")):
        document = Parser().parse(path.read_text(encoding="utf-8"))
        feature = document["feature"]
        feature_tags = {t["name"].lstrip("@") for t in feature["tags"]}
        for child in feature["children"]:
            scenario = child.get("scenario")
            if scenario is None:
                continue
            tags = feature_tags | {t["name"].lstrip("@") for t in scenario["tags"]}
            found.append(ScenarioRef(path.name, scenario["name"], frozenset(tags)))
    return found


def coverage(features_dir: Path = FEATURES_DIR) -> list[tuple[Case, list[ScenarioRef]]]:
    refs = scenarios_in(features_dir)
    return [(case, [r for r in refs if covers(case, r.tags)]) for case in CASES]
