"""Fuzz both fakes over HTTP with schemathesis, from the OpenAPI document each one serves.

Every operation gets a bounded number of generated requests (valid and invalid
input, fixed seed), authenticated as a real client would be. Each answer must
not be a 5xx and must conform to the document: a documented status code, the
documented content type and the documented body schema. The number of requests
sent is printed and recorded as a JUnit property (``requests_fuzzed``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance, response_schema_conformance, status_code_conformance,
)

from fakes.base import ADMIN_PREFIX, FakeServer, direct_session
from fakes.crm import CONNECTOR_KEY, SITE_CODE, CrmApp
from fakes.crm.catalog import IcmlOffer
from fakes.shop import CONSUMER_KEY, CONSUMER_SECRET, ShopApp

#: Generated requests per operation and generation mode: enough to find the shallow
#: crashes, small enough for the whole module to stay well under a minute on 2 cores.
EXAMPLES_PER_OPERATION = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES_PER_OPERATION, derandomize=True, database=None, deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: failures are collected, not minimised
    suppress_health_check=list(HealthCheck),
)


@dataclass
class FuzzRun:
    """What one fake answered: requests sent and the checks that failed, by operation."""

    requests: int = 0
    failures: dict[str, str] = field(default_factory=dict)


def fuzz(server: FakeServer, auth: Callable[[], dict[str, Any]],
         wanted: Callable[[str], bool] = lambda path: True) -> FuzzRun:
    """Every operation of the fake's own document whose path is ``wanted``, in positive then negative mode."""
    session = direct_session()
    doc = session.get(f"{server.url}{ADMIN_PREFIX}/openapi.json", timeout=10).json()
    schema = schemathesis.openapi.from_dict(bounded(doc))
    run = FuzzRun()
    for result in schema.get_all_operations():
        operation = result.ok()
        if not wanted(operation.path) or is_alias(operation, doc):
            continue
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            _fuzz_operation(operation, mode, server.url, session, auth, run)
    return run


def is_alias(operation: Any, doc: dict[str, Any]) -> bool:
    """PUT and PATCH where the same path takes POST: WordPress serves all three edit methods with
    one callback (WP_REST_Server::EDITABLE), so fuzzing POST covers them; generating their
    bodies is most of the budget."""
    return operation.method.upper() in ("PUT", "PATCH") and "post" in doc["paths"][operation.path]


def bounded(doc: dict[str, Any]) -> dict[str, Any]:
    """The document with its batch sections capped at a few items. Batches of up to 100 are
    valid, but generating them costs seconds per example; the 100-item limit has its own test
    in test_shop_api.py. The cap applies to positive mode; negative mode still sends more."""
    for item in doc["paths"].values():
        for operation in item.values():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema", {})
            for section in ("create", "update", "delete"):
                if section in body.get("properties", {}):
                    body["properties"][section]["maxItems"] = 3
    return doc


def _fuzz_operation(operation: Any, mode: GenerationMode, url: str, session: requests.Session,
                    auth: Callable[[], dict[str, Any]], run: FuzzRun) -> None:
    @FUZZ_SETTINGS
    @given(case=operation.as_strategy(generation_mode=mode))
    def one(case: schemathesis.Case) -> None:
        run.requests += 1
        response = case.call(base_url=url, session=session, timeout=10, **auth())
        try:
            case.validate_response(response, checks=CHECKS)
        except (Failure, FailureGroup) as exc:  # keep the first per operation, go on with the others
            run.failures.setdefault(operation.label, f"{case.method} {case.formatted_path} "
                                                     f"-> {response.status_code}: {str(exc)[:600]}")

    try:
        one()
    except Unsatisfiable:
        # Negative mode on an operation without inputs (the index, /simla.xml): nothing to make invalid.
        assert mode is GenerationMode.NEGATIVE, operation.label


def report(name: str, run: FuzzRun, record_property: Callable[[str, Any], None]) -> None:
    print(f"\n{name}: {run.requests} requests fuzzed, {len(run.failures)} operations failed")
    record_property("requests_fuzzed", run.requests)
    assert not run.failures, "\n".join(f"{op}: {why}" for op, why in run.failures.items())


@pytest.fixture
def crm() -> Iterator[FakeServer]:
    app = CrmApp()
    # Offers the documents' examples name, so their orders get past "Offer not found".
    app.state.catalog_import(SITE_CODE, [IcmlOffer(id="42", name="Mug", xml_id="SKU-42", price=500)])
    with FakeServer(app) as server:
        yield server


@pytest.fixture
def shop() -> Iterator[FakeServer]:
    app = ShopApp()
    app.state.create_product(name="Mug", regular_price="100", manage_stock=True, stock_quantity=10)
    with FakeServer(app) as server:
        yield server


def test_fuzz_the_fake_crm(crm: FakeServer, record_property: Callable[[str, Any], None]) -> None:
    report("crm", fuzz(crm, lambda: {"headers": {"X-API-KEY": CONNECTOR_KEY}}), record_property)


# The shop's document in three slices (pytest-xdist runs them side by side); each path is in one.
SHOP_SLICES: dict[str, Callable[[str], bool]] = {
    "variations": lambda path: "/variations" in path,
    "orders": lambda path: path.startswith("/wp-json/wc/v3/orders"),
    "products and the rest": lambda path: "/variations" not in path and not path.startswith("/wp-json/wc/v3/orders"),
}


@pytest.mark.parametrize("part", list(SHOP_SLICES))
def test_fuzz_the_fake_shop(shop: FakeServer, part: str, record_property: Callable[[str, Any], None]) -> None:
    keys = {"consumer_key": CONSUMER_KEY, "consumer_secret": CONSUMER_SECRET}
    report(f"shop ({part})", fuzz(shop, lambda: {"params": keys}, SHOP_SLICES[part]), record_property)


def test_the_fuzzer_reports_a_server_error(crm: FakeServer) -> None:
    """The checks can fail: an injected 500 on one operation is reported for that operation."""
    crm.app.faults.add({"path": "/api/api-versions", "status": 500})
    run = fuzz(crm, lambda: {"headers": {"X-API-KEY": CONNECTOR_KEY}}, lambda path: path == "/api/api-versions")
    assert list(run.failures) == ["GET /api/api-versions"] and "-> 500" in run.failures["GET /api/api-versions"]
