"""Traceability: every statement of the source document is claimed by a scenario, and says where it comes from."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from sim import cli
from sim.cases import (CASES, DIFFERENCE_TAGS, FEATURES_DIR, MODE_TAGS, NOT_STATEMENTS, PROPERTIES, SOURCE_TAGS,
                       STATEMENTS, TOPIC_TAGS, Statement, all_tags, scenarios_in, statement_coverage,
                       uncovered_statements)

#: The source document, beside the repository (README: ../shared/seed/setting-stock.ru.md).
SOURCE_RU = Path(__file__).resolve().parents[2] / "shared" / "seed" / "setting-stock.ru.md"

KNOWN_TAGS = ({c.tag for c in CASES} | {c.branch_tag for c in CASES if c.branch_tag}
              | set(MODE_TAGS) | set(SOURCE_TAGS) | set(TOPIC_TAGS) | set(DIFFERENCE_TAGS))


def test_every_statement_has_a_scenario() -> None:
    uncovered = uncovered_statements()
    assert not uncovered, "statements no scenario claims: " + "; ".join(
        f"{st.id} {st.text!r} (claim it with {st.claim_text()})" for st in uncovered)


def test_statement_ids_run_s1_to_sn_in_order() -> None:
    assert [st.id for st in STATEMENTS] == [f"S{n}" for n in range(1, len(STATEMENTS) + 1)]


def test_every_statement_has_an_english_text_a_russian_source_and_a_claim() -> None:
    for st in STATEMENTS:
        assert st.text and re.search("[а-яА-Я]", st.source), st.id
        assert st.claims, f"{st.id} can be claimed only by @{st.id}"


def test_claims_name_only_tags_the_suite_knows() -> None:
    """A typo in a claim would leave a statement silently unclaimable."""
    for st in STATEMENTS:
        for claim in st.claims:
            assert claim <= KNOWN_TAGS, f"{st.id} claims unknown tag(s) {sorted(claim - KNOWN_TAGS)}"


def _plain(markdown: str) -> str:
    """The document's text without markup, whitespace collapsed: what a reader reads."""
    text = re.sub(r"\*+", "", markdown)  # emphasis sits inside sentences: "**раз в 15 минут**."
    text = re.sub(r"<br\s*/?>|\|", " ", text)  # line breaks and table cells separate sentences
    return re.sub(r"\s+", " ", text)


@pytest.mark.skipif(not SOURCE_RU.exists(), reason=f"the source document is not at {SOURCE_RU}")
def test_every_russian_source_is_quoted_from_the_document() -> None:
    document = _plain(SOURCE_RU.read_text(encoding="utf-8"))
    for st in STATEMENTS:
        quoted = st.source.split(" ... ")[0]  # "..." marks a statement that reads an "if" the other way
        assert _plain(quoted) in document, f"{st.id}'s source is not in {SOURCE_RU.name}: {quoted!r}"
        assert _plain(st.when) in document, f"{st.id}'s row action is not in {SOURCE_RU.name}: {st.when!r}"


@pytest.mark.skipif(not SOURCE_RU.exists(), reason=f"the source document is not at {SOURCE_RU}")
def test_nothing_of_the_document_is_left_out() -> None:
    """Take every statement's source and every listed non-statement out of the document: no Russian prose is left."""
    rest = _plain(SOURCE_RU.read_text(encoding="utf-8"))
    quoted = [st.source.split(" ... ")[0] for st in STATEMENTS] + [st.when for st in STATEMENTS if st.when]
    quoted += [text for text, _ in NOT_STATEMENTS]
    for text in sorted(quoted, key=len, reverse=True):  # longest first: a short source may sit inside a long one
        rest = rest.replace(_plain(text), " ")
    words = re.findall(r"[а-яА-ЯёЁ]+", rest)
    headings = {"Настройка", "управления", "остатками", "На", "стороне", "WooCommerce", "CRM", "Кейс", "Результат"}
    leftover = [w for w in words if w not in headings]
    assert not leftover, "Russian text no statement quotes: " + " ".join(leftover)


def test_a_statement_is_claimed_by_its_id_tag_or_by_every_tag_of_one_claim() -> None:
    c3_off = next(st for st in STATEMENTS if st.id == "S28")
    assert c3_off.covered_by({"S28"})
    assert c3_off.covered_by({"C3", "auto_cancel_off", "mode_crm"})
    assert not c3_off.covered_by({"C3", "auto_cancel_on"})
    assert not c3_off.covered_by({"auto_cancel_off"})


FEATURE = """
@mode_crm
Feature: a feature with a rule and examples
  @S4
  Scenario Outline: outside the rule
    Given stock is kept in the CRM
    @fresh_tag
    Examples:
      | n |
      | 1 |

  @warehouses
  Rule: a rule's tags reach its scenarios
    @documented
    Scenario: inside the rule
      Given stock is kept in the CRM
"""


def test_rule_and_examples_tags_reach_scenarios_and_all_tags(tmp_path: Path) -> None:
    (tmp_path / "x.feature").write_text(FEATURE, encoding="utf-8")
    refs = {r.name: r.tags for r in scenarios_in(tmp_path)}
    assert refs["inside the rule"] == {"mode_crm", "warehouses", "documented"}
    assert refs["outside the rule"] == {"mode_crm", "S4", "fresh_tag"}
    assert "fresh_tag" in all_tags(tmp_path)
    covered = {st.id for st, found in statement_coverage(tmp_path) if found}
    assert {"S4", "S5", "S6", "S7"} <= covered and "S10" not in covered


def test_all_tags_registers_every_tag_in_use_and_every_statement_id() -> None:
    tags = set(all_tags())
    in_use = {tag for ref in scenarios_in() for tag in ref.tags}
    assert in_use <= tags
    assert {st.id for st in STATEMENTS} <= tags


def test_the_property_claims_name_real_tests_and_statements() -> None:
    module = ast.parse((FEATURES_DIR / "test_properties.py").read_text(encoding="utf-8"))
    tests = {node.name for node in module.body if isinstance(node, ast.FunctionDef)}
    ids = {st.id for st in STATEMENTS}
    for name, claimed in PROPERTIES.items():
        assert name in tests, f"PROPERTIES names {name}, which features/test_properties.py does not define"
        assert set(claimed) <= ids


def test_stocksim_cases_lists_every_statement_and_passes(capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["cases"])
    out = capsys.readouterr().out
    assert code == 0, out[-2000:]
    for st in STATEMENTS:
        assert f"\n{st.id:<4} {st.text}\n" in out
    assert f"{len(STATEMENTS)} statements, {len(STATEMENTS)} covered, 0 without a scenario" in out
    assert f"{len(CASES)} cases and branches, {len(CASES)} covered" in out


def test_stocksim_cases_exits_1_and_names_the_statements_without_a_scenario(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:
    (tmp_path / "x.feature").write_text(FEATURE, encoding="utf-8")
    monkeypatch.setattr(cli, "FEATURES_DIR", tmp_path)
    assert cli.main(["cases"]) == 1
    out = capsys.readouterr().out
    assert "S10 " in out and "(NO SCENARIO covers this statement)" in out
    assert "statements without a scenario: S1 (claim it with @S1 | @C2 | @prerequisites)" in out
    assert "S4 (" not in out.split("statements without a scenario:")[1]


def test_no_two_statements_quote_the_same_text() -> None:
    sources: dict[str, Statement] = {}
    for st in STATEMENTS:
        assert st.source not in sources, f"{st.id} quotes what {sources[st.source].id} quotes"
        sources[st.source] = st
