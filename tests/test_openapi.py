"""Each fake publishes an OpenAPI 3 document of its real routes at /__stocksim/openapi.json:
a valid document, and one that names every route the app's url_map serves (so they cannot drift)."""

from __future__ import annotations

import re
from typing import Any, Iterator

import pytest
import requests
from openapi_spec_validator import validate

from fakes.base import ADMIN_PREFIX, FakeApp, FakeServer
from fakes.crm import CrmApp
from fakes.shop import ShopApp

# <uid>, <int:product_id>, <any('a', 'b'):book> → {uid}, {product_id}, {book}
_CONVERTER = re.compile(r"<(?:[^:<>]+:)?([^<>:]+)>")
# werkzeug adds HEAD to every GET rule and answers OPTIONS itself; neither is a route of the real API.
_IMPLICIT = {"HEAD", "OPTIONS"}


def openapi_path(rule: str) -> str:
    return _CONVERTER.sub(r"{\1}", rule)


def real_routes(app: FakeApp) -> dict[str, set[str]]:
    """path → methods of every rule outside the admin plane."""
    routes: dict[str, set[str]] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(ADMIN_PREFIX):
            routes.setdefault(openapi_path(rule.rule), set()).update(rule.methods or ())
    return routes


@pytest.fixture(scope="module", params=[CrmApp, ShopApp], ids=["crm", "shop"])
def served(request: pytest.FixtureRequest) -> Iterator[tuple[FakeApp, dict[str, Any]]]:
    with FakeServer(request.param()) as server:
        response = requests.get(f"{server.url}{ADMIN_PREFIX}/openapi.json", timeout=10)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("application/json")
        yield server.app, response.json()


def test_openapi_param_converter() -> None:
    assert openapi_path("/api/v5/reference/<any('stores', 'status-groups'):book>") == "/api/v5/reference/{book}"
    assert openapi_path("/p/<int:product_id>/v/<int:variation_id>") == "/p/{product_id}/v/{variation_id}"


def test_the_document_is_valid_openapi_3(served: tuple[FakeApp, dict[str, Any]]) -> None:
    app, doc = served
    validate(doc)
    assert doc["openapi"].startswith("3.") and doc["servers"][0]["url"].startswith("http://127.0.0.1:")


def test_every_real_route_is_documented_and_nothing_else(served: tuple[FakeApp, dict[str, Any]]) -> None:
    app, doc = served
    routes = real_routes(app)
    assert set(doc["paths"]) == set(routes)
    for path, methods in routes.items():
        documented = {m.upper() for m in doc["paths"][path] if m != "parameters"}
        assert methods - _IMPLICIT <= documented <= methods, path


def test_every_operation_says_how_to_authenticate_and_answer(served: tuple[FakeApp, dict[str, Any]]) -> None:
    app, doc = served
    assert doc["security"] and doc["components"]["securitySchemes"]
    for path, item in doc["paths"].items():
        for method, operation in item.items():
            statuses = {int(s) for s in operation["responses"]}
            assert any(200 <= s < 300 for s in statuses), (method, path)
            assert not any(s >= 500 and s != 503 for s in statuses), (method, path)  # 503: the CRM's rate limit
