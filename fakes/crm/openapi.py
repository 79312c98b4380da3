"""The fake RetailCRM's API v5 as an OpenAPI 3 document, served at ``/__stocksim/openapi.json``.

Written as data next to the wire code (``app.py``) it describes: the same
paths, parameters (PHP-style ``filter[...]`` query keys, form fields whose
values are JSON documents) and envelopes. ``tests/test_openapi.py`` checks that
every real route of ``CrmApp`` is here, so the two cannot drift apart, and
``tests/test_fuzz.py`` fuzzes the fake against it.
"""

from __future__ import annotations

import json
from typing import Any

from fakes.crm.app import INVENTORY_LIMITS, LIMITS, PARTIAL_UPLOAD_STATUS, REFERENCE_BOOKS, V5

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
OBJ: dict[str, Any] = {"type": "object"}
ERROR = {"$ref": "#/components/schemas/Error"}
# The answers every /api/ route can give before its handler runs: a missing or wrong
# key (403) and the per-key rate limit (503).
COMMON_ERRORS = (403, 503)
ERROR_TEXT = {400: "Errors in the input parameters", 403: "Missing, wrong or unauthorised key, or another site",
              404: "Not found", 503: "Rate limit exceeded", PARTIAL_UPLOAD_STATUS: "Orders are loaded with errors"}


def _query(name: str, schema: dict[str, Any], description: str = "") -> dict[str, Any]:
    param = {"name": name, "in": "query", "required": False, "schema": schema}
    if description:
        param["description"] = description
    return param


def _path(name: str, schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": schema or {"type": "string", "minLength": 1}}


def _array(name: str, items: dict[str, Any]) -> dict[str, Any]:
    # The PHP encoding the Python client sends: filter[ids][]=1&filter[ids][]=2.
    return {"name": name, "in": "query", "required": False, "style": "form", "explode": True,
            "schema": {"type": "array", "items": items}}


def _paging(limits: tuple[int, ...]) -> list[dict[str, Any]]:
    return [_query("limit", {"type": "integer", "enum": list(limits)}),
            _query("page", {"type": "integer", "minimum": 1})]


SITE = _query("site", {"type": "string"}, "site code; defaults to the key's only site")
BY = _query("by", {"type": "string", "enum": ["externalId", "id"]})
PAGINATION = {"type": "object", "required": ["limit", "totalCount", "currentPage", "totalPageCount"],
              "properties": {k: {"type": "integer"} for k in ("limit", "totalCount", "currentPage", "totalPageCount")}}


def _success(fields: dict[str, Any]) -> dict[str, Any]:
    """The ``{"success": true, ...}`` envelope with its required fields."""
    return {"type": "object", "required": ["success", *fields],
            "properties": {"success": {"type": "boolean", "enum": [True]}, **fields}}


def _json_response(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {JSON: {"schema": schema}}}


def _operation(op_id: str, summary: str, fields: dict[str, Any], *, params: list[dict[str, Any]] | None = None,
               form: dict[str, Any] | None = None, required: tuple[str, ...] = (), status: int = 200,
               errors: tuple[int, ...] = ()) -> dict[str, Any]:
    responses = {str(status): _json_response("Success", _success(fields))}
    for code in sorted({*COMMON_ERRORS, *errors}):
        responses[str(code)] = _json_response(ERROR_TEXT[code], ERROR)
    operation: dict[str, Any] = {"operationId": op_id, "summary": summary, "parameters": params or [],
                                 "responses": responses}
    if form is not None:
        operation["requestBody"] = {"required": True, "content": {FORM: {"schema": {
            "type": "object", "required": list(required), "properties": form}}}}
    return operation


def _entity(description: str, example: Any) -> dict[str, Any]:
    """A form field holding a JSON document (ref §1.4)."""
    return {"type": "string", "description": f"JSON: {description}", "example": json.dumps(example)}


def _filters(*names: str, ints: tuple[str, ...] = (), scalars: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    params = [_array(f"filter[{n}][]", {"type": "integer", "minimum": 1} if n in ints else {"type": "string"})
              for n in names]
    params += [_query(f"filter[{n}]", {"type": "string"}) for n in scalars]
    return params


ORDER_EXAMPLE = {"externalId": "fuzz-1", "firstName": "Ann", "items": [{"offer": {"externalId": "42"}, "quantity": 1}]}
HISTORY = {"generatedAt": {"type": "string"}, "history": {"type": "array", "items": OBJ}, "pagination": PAGINATION}


def _paths() -> dict[str, dict[str, Any]]:
    orders_filter = _filters("ids", "externalIds", "sites", "extendedStatus", ints=("ids",))
    history_filter = [_query(f"filter[{n}]", {"type": "string"})
                      for n in ("sinceId", "startDate", "endDate")]
    return {
        "/api/api-versions": {"get": _operation("apiVersions", "API versions",
                                                {"versions": {"type": "array", "items": {"type": "string"}}})},
        "/api/credentials": {"get": _operation("credentials", "The key's scopes and sites", {
            "credentials": {"type": "array"}, "siteAccess": {"type": "string"},
            "sitesAvailable": {"type": "array"}})},
        f"{V5}/credentials": {"get": _operation("credentialsV5", "Alias of /api/credentials", {
            "credentials": {"type": "array"}, "siteAccess": {"type": "string"},
            "sitesAvailable": {"type": "array"}})},
        "/api/system-info": {"get": _operation("systemInfo", "System version and URLs", {
            "systemVersion": {"type": "string"}, "publicUrl": {"type": "string"},
            "technicalUrl": {"type": "string"}})},
        f"{V5}/reference/sites": {"get": _operation("referenceSites", "The key's sites", {"sites": OBJ})},
        f"{V5}/reference/{{book}}": {"get": _operation(
            "reference", "A reference book (stores is a list, the others maps by code)",
            {}, params=[_path("book", {"type": "string", "enum": list(REFERENCE_BOOKS)})], errors=(404,))},
        f"{V5}/store/inventories": {"get": _operation(
            "inventories", "Stock per offer", {"pagination": PAGINATION, "offers": {"type": "array", "items": OBJ}},
            params=[*_paging(INVENTORY_LIMITS), *_filters("ids", "sites", "offerExternalId", "offerXmlId",
                                                          ints=("ids",), scalars=("details",))],
            errors=(400,))},
        f"{V5}/store/inventories/upload": {"post": _operation(
            "inventoriesUpload", "Set stock per store", {
                "processedOffersCount": {"type": "integer"}, "notFoundOffers": {"type": "array"}},
            form={"offers": _entity("list of {id|externalId|xmlId, stores: [{code, available}]}",
                                    [{"externalId": "42", "stores": [{"code": "main", "available": 10}]}]),
                  "site": {"type": "string"}},
            required=("offers",), errors=(400,))},
        f"{V5}/orders": {"get": _operation(
            "orders", "Orders, id descending",
            {"pagination": PAGINATION, "orders": {"type": "array", "items": OBJ}},
            params=[*_paging(LIMITS), *orders_filter], errors=(400,))},
        f"{V5}/orders/create": {"post": _operation(
            "orderCreate", "Create an order", {"id": {"type": "integer"}, "order": OBJ},
            form={"order": _entity("the order", ORDER_EXAMPLE), "site": {"type": "string"}},
            required=("order",), status=201, errors=(400,))},
        f"{V5}/orders/fix-external-ids": {"post": _operation(
            "ordersFixExternalIds", "Set external ids", {},
            form={"orders": _entity("list of {id, externalId}", [{"id": 1, "externalId": "x-1"}])},
            required=("orders",), errors=(400, 404))},
        f"{V5}/orders/history": {"get": _operation(
            "ordersHistory", "Order change records", HISTORY,
            params=[*_paging(LIMITS), *history_filter, _query("filter[orderId]", {"type": "string"}),
                    _query("filter[orderExternalId]", {"type": "string"})], errors=(400,))},
        f"{V5}/orders/statuses": {"get": _operation(
            "ordersStatuses", "Statuses of given orders", {"orders": {"type": "array", "items": OBJ}},
            params=[_array("ids[]", {"type": "integer", "minimum": 1}), _array("externalIds[]", {"type": "string"})],
            errors=(400,))},
        f"{V5}/orders/upload": {"post": _operation(
            "ordersUpload", "Create 1 to 50 orders", {"uploadedOrders": {"type": "array", "items": OBJ}},
            form={"orders": _entity("list of orders", [ORDER_EXAMPLE]), "site": {"type": "string"}},
            required=("orders",), errors=(400, PARTIAL_UPLOAD_STATUS))},
        f"{V5}/orders/{{uid}}": {"get": _operation(
            "order", "One order", {"order": OBJ}, params=[_path("uid"), BY, SITE], errors=(400, 404))},
        f"{V5}/orders/{{uid}}/edit": {"post": _operation(
            "orderEdit", "Edit an order", {"id": {"type": "integer"}, "order": OBJ}, params=[_path("uid")],
            form={"order": _entity("the changed fields", {"status": "complete"}), "by": BY["schema"],
                  "site": {"type": "string"}},
            required=("order",), errors=(400, 404))},
        f"{V5}/customers": {"get": _operation(
            "customers", "Customers", {"pagination": PAGINATION, "customers": {"type": "array", "items": OBJ}},
            params=[*_paging(LIMITS), *_filters("ids", "externalIds", "sites", ints=("ids",), scalars=("email",))],
            errors=(400,))},
        f"{V5}/customers/create": {"post": _operation(
            "customerCreate", "Create a customer", {"id": {"type": "integer"}},
            form={"customer": _entity("the customer", {"externalId": "c-1", "firstName": "Ann"}),
                  "site": {"type": "string"}},
            required=("customer",), status=201, errors=(400,))},
        f"{V5}/customers/history": {"get": _operation(
            "customersHistory", "Customer change records", HISTORY,
            params=[*_paging(LIMITS), *history_filter, _query("filter[customerId]", {"type": "string"}),
                    _query("filter[customerExternalId]", {"type": "string"})], errors=(400,))},
        f"{V5}/customers/{{uid}}": {"get": _operation(
            "customer", "One customer", {"customer": OBJ}, params=[_path("uid"), BY, SITE], errors=(400, 404))},
        f"{V5}/customers/{{uid}}/edit": {"post": _operation(
            "customerEdit", "Edit a customer", {"id": {"type": "integer"}}, params=[_path("uid")],
            form={"customer": _entity("the changed fields", {"firstName": "Bob"}), "by": BY["schema"],
                  "site": {"type": "string"}},
            required=("customer",), errors=(400, 404))},
        f"{V5}/statistic/update": {"get": _operation("statisticUpdate", "Queue a statistics update", {})},
    }


def openapi_document(server_url: str = "") -> dict[str, Any]:
    """The whole document; ``server_url`` is where this fake answers (empty: relative)."""
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "stocksim fake RetailCRM API v5", "version": "5.0",
                 "description": "What the fake serves; see docs/crm.md for the differences from the real API."},
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-KEY"},
                "apiKeyQuery": {"type": "apiKey", "in": "query", "name": "apiKey"},
            },
            "schemas": {"Error": {
                "type": "object", "required": ["success", "errorMsg"],
                "properties": {"success": {"type": "boolean", "enum": [False]}, "errorMsg": {"type": "string"},
                               "errors": {"oneOf": [{"type": "object"}, {"type": "array"}]},
                               "uploadedOrders": {"type": "array"}, "failedOrders": {"type": "array"}}}},
        },
        "security": [{"apiKeyHeader": []}, {"apiKeyQuery": []}],
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc
