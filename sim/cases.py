"""The source document's statements, cases and branches, and which scenarios cover them.

Two views of the same document (``../shared/seed/setting-stock.ru.md``; the
Russian text wins over its English rendering):

- ``STATEMENTS`` (S1..Sn): every sentence of the document that states a rule,
  with its Russian source. A scenario claims a statement with the tag
  ``@S<n>`` or through the statement's ``claims``: sets of existing tags
  (case, branch and topic tags), any one of which, all present on a
  scenario, covers it.
- ``CASES``: the table rows W1..C3 and the "if" branches in them; ``C-pre``
  names the mode-C preamble's "if". A scenario claims a case with its case
  tag (``@W1``) and, where the row has an "if", a branch tag.
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

# -- the statements ------------------------------------------------------------------

#: Topic tags of scenarios written for statements outside the table rows.
TOPIC_TAGS = ("warehouses", "prerequisites", "binding", "cadence", "known_difference", "oversell")
#: The known differences between the document and the module (behaviour-model.md, 1-5), one tag each.
DIFFERENCE_TAGS = tuple(f"difference_{n}" for n in range(1, 6))


@dataclass(frozen=True)
class Statement:
    id: str  # S1..Sn, in the document's order
    text: str  # English rendering
    source: str  # the Russian sentence (or the part of one) it renders
    claims: tuple[frozenset[str], ...]  # tag sets; a scenario carrying every tag of one of them covers it
    when: str = ""  # for a table's result: the Russian action cell of its row (the rule's condition)

    def covered_by(self, tags: Iterable[str]) -> bool:
        tags = set(tags)
        return self.id in tags or any(claim <= tags for claim in self.claims)

    def claim_text(self) -> str:
        """How a scenario claims it, e.g. ``@S3 | @C1 | @C_preamble+@items_cancelled``."""
        options = [f"@{self.id}"] + ["+".join(f"@{t}" for t in sorted(c)) for c in self.claims]
        return " | ".join(options)


def _claims(*options: str) -> tuple[frozenset[str], ...]:
    """``"C3 auto_cancel_on"`` means a scenario tagged with both ``@C3`` and ``@auto_cancel_on``."""
    return tuple(frozenset(option.split()) for option in options)


def _statement(n: int, text: str, source: str, *claims: str, when: str = "") -> Statement:
    return Statement(f"S{n}", text, source, _claims(*claims), when)


# The tables' action cells, verbatim: each result statement of a row holds under its row's action.
W1_ACTION = "Оформить заказ на сайте, после указать статус Отменен заказу на стороне WooCommerce"
W2_ACTION = "Оформить заказ в CRM, после указать статус из группы Выполнен в CRM"
W3_ACTION = "Оформить заказ в CRM, после указать статус из группы Отмена в CRM"
C1_ACTION = "Оформить заказ в CRM, после указать в CRM статус товару из группы Отмена"
C2_ACTION = "Оформить заказ на сайте в WooCommerce"
C3_ACTION = "Оформить заказ на сайте в WooCommerce, после указать статус Отменен в админке сайта WooCommerce"


STATEMENTS: tuple[Statement, ...] = (
    # Preamble: the "Stock management settings" block.
    _statement(1, "The option lets the CRM manage stock.",
               "Данная опция позволяет управлять остатками на стороне CRM.",
               "C2", "prerequisites"),
    _statement(2, "The option is activated by ticking its checkbox (the module's stock synchronisation).",
               "Для активации необходимо поставить галочку.",
               "prerequisites"),
    _statement(3, "Stock information goes from the CRM to WooCommerce once every 15 minutes.",
               "Информация по остаткам из CRM в WooCommerce обновляется раз в 15 минут.",
               "C1", "C_preamble items_cancelled", "cadence", "binding", "known_difference difference_5"),
    _statement(4, "For the CRM to keep stock, the CRM must mark the shop 'Keep the catalog in the system', assign "
                  "it a warehouse and enable stock editing, and the module's 'Stock synchronization' must be on.",
               "Обратите внимание, для того чтобы вести остатки в CRM, требуется в настройках системы указать "
               "магазину \"Вести каталог в системе\", присвоить ему склад и включить редактирование остатков, а на "
               "стороне WooCommerce в настройках модуля активировать опцию \"Синхронизация остатков\".",
               "prerequisites"),
    _statement(5, "Since module 4.6.8 one can choose the CRM warehouses whose stock is exported for offers.",
               "В версии 4.6.8 появилась возможность указать, с каких складов CRM выгружать остатки для "
               "торговых предложений.",
               "warehouses", "known_difference difference_1"),
    _statement(6, "The settings block lists the CRM's warehouses in a multi-select: several can be chosen.",
               "В блоке \"Настройка управления остатками\" добавлен мультисписок с доступными складами CRM.",
               "warehouses"),
    _statement(7, "If the CRM has several warehouses and none is selected, stock is transferred across all of them.",
               "Если в CRM несколько складов, а в настройках не выбрали склады для выгрузки, в таком случае "
               "остатки будут передаваться по всем складам.",
               "warehouses"),
    # Mode W: stock kept on the site.
    _statement(8, "Mode W: a site order writes the item's stock off in WooCommerce at once.",
               "Если остатки ведут на сайте, то в этом случае, при оформлении заказа на сайте, остаток по товару "
               "сразу же списывается в WooCommerce.",
               "W1"),
    _statement(9, "Mode W: the CRM's stock is updated when the ICML catalog file is synchronised (~4 hours).",
               "В CRM обновление остатков по товарам происходит в момент синхронизации ICML-файла каталога "
               "(~ 4 часа).",
               "W1 auto_cancel_off", "cadence", "known_difference difference_4"),
    _statement(10, "W1: placing a site order writes the stock off at once in both WooCommerce and the CRM.",
               "При оформлении заказа остатки сразу списываются, как в WooCommerce, так и в CRM;",
               "W1", when=W1_ACTION),
    _statement(11, "W1: once the order is cancelled, WooCommerce returns the stock at once.",
               "После указания отмены заказу, в WooCommerce остатки сразу возвращаются,",
               "W1", when=W1_ACTION),
    _statement(12, "W1: the CRM returns the stock if automatic item cancellation on order cancel is configured.",
               "в CRM, если настроена автоматическая отмена товара при отмене заказа, остатки возвращаются,",
               "W1 auto_cancel_on", when=W1_ACTION),
    _statement(13, "W1: otherwise the CRM's stock returns only with the catalog update.",
               "иначе нужно ждать обновления каталога",
               "W1 auto_cancel_off", when=W1_ACTION),
    _statement(14, "W2: a CRM order moved to the Completed group writes nothing off in the CRM.",
               "В CRM по товарам остатки не списываются;",
               "W2", when=W2_ACTION),
    _statement(15, "W2: WooCommerce writes the item's stock off when the Completed status arrives.",
               "В WooCommerce остаток по товару списывается, когда приходит статус Выполнен",
               "W2", "known_difference difference_3", when=W2_ACTION),
    _statement(16, "W3: a CRM order moved to the Cancel group writes nothing off in the CRM, "
                   "not even when its items get a cancel status.",
               "В CRM остатки не списываются (в т.ч. и при установлении отмены статусу товара),",
               "W3", when=W3_ACTION),
    _statement(17, "W3: WooCommerce returns no stock either.",
               "в WooCommerce остатки по товару также не возвращаются",
               "W3", when=W3_ACTION),
    # Mode C: stock kept in the CRM.
    _statement(18, "Mode C: an order writes the item's stock off in the CRM at once.",
               "При ведении стока на стороне CRM, остаток по товару сразу списывается в CRM.",
               "C1", "C2", "C_preamble"),
    _statement(19, "Mode C: WooCommerce's stock is updated once every 15 minutes.",
               "На стороне WooCommerce остатки по товарам обновляются раз в 15 минут.",
               "C1", "cadence", "oversell", "known_difference difference_5"),
    _statement(20, "Mode C: if the CRM order status does not give the items a cancel status, stock returns "
                   "neither in the CRM nor in WooCommerce.",
               "Если данный статус в CRM не выставляет автоматически статус отмены товару, то в CRM остатки не "
               "возвращаются, также, как и на стороне WooCommerce",
               "C_preamble items_not_cancelled"),
    _statement(21, "Mode C: if the items get a cancel status, stock returns in the CRM and 15 minutes later "
                   "in WooCommerce.",
               "Если будет выставлен статус отмены товару, остатки возвратятся в CRM и спустя 15 минут в "
               "WooCommerce",
               "C_preamble items_cancelled", "C1"),
    _statement(22, "C1: an item status from the Cancel group returns the item's stock in the CRM.",
               "В CRM остаток по товару возвращается,",
               "C1", when=C1_ACTION),
    _statement(23, "C1: WooCommerce's stock is updated within 15 minutes.",
               "в WooCommerce сток обновляется через 15 минут",
               "C1", when=C1_ACTION),
    _statement(24, "C2: a site order is uploaded to the CRM and its items' stock is written off there.",
               "Заказ выгружается в CRM, по нему списываются остатки по товару,",
               "C2", when=C2_ACTION),
    _statement(25, "C2: that write-off is passed on to WooCommerce.",
               "данное списание передается на сторону WooCommerce",
               "C2", when=C2_ACTION),
    _statement(26, "C3: cancelling a site order in the WooCommerce admin sends the cancel status to the CRM.",
               "В CRM приходит статус отмены заказа,",
               "C3", when=C3_ACTION),
    _statement(27, "C3: with the CRM's 'cancel items when the order is cancelled' option, stock returns in the "
                   "CRM and, some time later, in WooCommerce.",
               "если в CRM настроена опция автоматической отмены товара при отмене заказа, то остатки "
               "возвращаются в CRM, спустя время и в WooCommerce",
               "C3 auto_cancel_on", when=C3_ACTION),
    _statement(28, "C3: without that option the CRM keeps the write-off (the same 'if' read the other way; "
                   "the module then lowers WooCommerce again).",
               "если в CRM настроена опция автоматической отмены товара при отмене заказа, то ... (иначе)",
               "C3 auto_cancel_off", "known_difference difference_2", when=C3_ACTION),
)

#: Sentences of the document that state no rule a simulation could check, and why.
NOT_STATEMENTS: tuple[tuple[str, str], ...] = (
    ("Анализ работы по списанию остатков был произведен в задаче "
     "[#75178](https://redmine.retailcrm.tech/issues/75178).",
     "a pointer to an internal tracker issue"),
    ("Для выбора нескольких складов зажмите CTRL (для Windows и Linux) или ⌘ Command (для MacOS).",
     "a browser gesture of the settings page; S6 covers that several warehouses can be chosen"),
    ("#### На стороне WooCommerce / #### На стороне CRM, the tables' 'Кейс | Результат' headers",
     "headings; their rows are S10-S17 and S22-S27"),
)

#: The property tests (features/test_properties.py) and the statements they check for any cron phase;
#: shown by `stocksim cases` beside the scenarios, never counted as a statement's scenario.
PROPERTIES: dict[str, tuple[str, ...]] = {
    "test_mode_c_shop_follows_the_crm_within_one_inventories_interval": ("S3", "S19", "S21", "S23", "S25"),
    "test_mode_w_crm_follows_the_shop_after_the_next_catalog_import": ("S9", "S13"),
}


MODE_TAGS = ("mode_site", "mode_crm")
SOURCE_TAGS = ("documented", "module")


def all_tags(features_dir: Path = FEATURES_DIR) -> list[str]:
    """Every tag a scenario may carry, so pytest registers each as a marker: the known ones and any in use."""
    tags = {c.tag for c in CASES} | {c.branch_tag for c in CASES if c.branch_tag}
    tags |= set(MODE_TAGS) | set(SOURCE_TAGS) | set(TOPIC_TAGS) | set(DIFFERENCE_TAGS) | {s.id for s in STATEMENTS}
    for path in sorted(features_dir.glob("*.feature")):
        tags |= _tags_in(path)
    return sorted(tags)


def _tags_in(path: Path) -> set[str]:
    try:
        document = Parser().parse(path.read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 - pytest-bdd reports a broken feature file itself, with a better message
        return set()
    return {tag for ref in _refs_in(path.name, document) for tag in ref.tags}


def covers(case: Case, tags: Iterable[str]) -> bool:
    tags = set(tags)
    return case.tag in tags and (not case.branch_tag or case.branch_tag in tags)


@dataclass(frozen=True)
class ScenarioRef:
    feature: str
    name: str
    tags: frozenset[str]


def scenarios_in(features_dir: Path = FEATURES_DIR) -> list[ScenarioRef]:
    """Every scenario of every feature file, with feature, rule and scenario tags merged."""
    found: list[ScenarioRef] = []
    for path in sorted(features_dir.glob("*.feature")):
        found += _refs_in(path.name, Parser().parse(path.read_text(encoding="utf-8")))
    return found


def _refs_in(feature_name: str, document: dict) -> list[ScenarioRef]:
    feature = document.get("feature") or {}
    return _refs_under(feature_name, feature.get("children", []), _tag_names(feature))


def _refs_under(feature_name: str, children: list[dict], inherited: set[str]) -> list[ScenarioRef]:
    refs: list[ScenarioRef] = []
    for child in children:
        if "rule" in child:  # a Rule's tags apply to its scenarios, as pytest-bdd applies them
            rule = child["rule"]
            refs += _refs_under(feature_name, rule.get("children", []), inherited | _tag_names(rule))
        elif "scenario" in child:
            scenario = child["scenario"]
            # Tags on an Examples table mark its rows, and pytest-bdd makes them markers too.
            example_tags = {tag for examples in scenario.get("examples", []) for tag in _tag_names(examples)}
            tags = inherited | _tag_names(scenario) | example_tags
            refs.append(ScenarioRef(feature_name, scenario["name"], frozenset(tags)))
    return refs


def _tag_names(node: dict) -> set[str]:
    return {t["name"].lstrip("@") for t in node.get("tags", [])}


def coverage(features_dir: Path = FEATURES_DIR) -> list[tuple[Case, list[ScenarioRef]]]:
    refs = scenarios_in(features_dir)
    return [(case, [r for r in refs if covers(case, r.tags)]) for case in CASES]


def statement_coverage(features_dir: Path = FEATURES_DIR) -> list[tuple[Statement, list[ScenarioRef]]]:
    refs = scenarios_in(features_dir)
    return [(st, [r for r in refs if st.covered_by(r.tags)]) for st in STATEMENTS]


def uncovered_statements(features_dir: Path = FEATURES_DIR) -> list[Statement]:
    return [st for st, refs in statement_coverage(features_dir) if not refs]


def properties_for(statement: Statement) -> list[str]:
    return [name for name, ids in PROPERTIES.items() if statement.id in ids]
