"""The fake shop's WooCommerce REST v3 routes and ``/simla.xml`` as an OpenAPI 3 document,
served at ``/__stocksim/openapi.json``.

Data next to the wire code it describes (``app.py``): the request fields come
from the same schemas ``app.validate`` applies (``PRODUCT_SCHEMA``, ``ORDER_SCHEMA``,
``LINE_SCHEMA``), the errors are WooCommerce's ``{code, message, data: {status}}``.
``tests/test_openapi.py`` checks every real route of ``ShopApp`` is here.
"""

from __future__ import annotations

from typing import Any

from fakes.shop.app import BATCH_LIMIT, LINE_SCHEMA, ORDER_SCHEMA, PRODUCT_SCHEMA, REST
from fakes.shop.connector import CATALOG_FILE
from fakes.shop.state import ORDER_STATUSES, STOCK_STATUSES

JSON = "application/json"
OBJ: dict[str, Any] = {"type": "object"}
ERROR = {"$ref": "#/components/schemas/Error"}
PRODUCT = {"$ref": "#/components/schemas/Product"}
ORDER = {"$ref": "#/components/schemas/Order"}
AUTH = [{"consumerKey": [], "consumerSecret": []}]
# What any REST route may answer besides its success: a refused body or parameter
# (rest_invalid_json, rest_invalid_param), missing or bad credentials, an unknown id or route.
REST_ERRORS = (400, 401, 404)
ERROR_TEXT = {400: "Invalid JSON or parameter", 401: "No or bad credentials", 404: "Unknown id or route",
              410: "Already trashed", 413: "More than 100 batch items"}
PRODUCT_STATUSES = ("draft", "pending", "private", "publish", "future")


def _field(kind: Any) -> dict[str, Any]:
    """An app.py schema entry (a type name, "type|null" or an enum tuple) as JSON Schema."""
    if isinstance(kind, tuple):
        return {"type": "string", "enum": list(kind)}
    base, _, null = kind.partition("|")
    schema: dict[str, Any] = {"type": base}
    if null:
        schema["nullable"] = True
    return schema


def _body_schema(fields: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    return {"type": "object", "properties": {name: _field(kind) for name, kind in fields.items()} | overrides}


LINE = _body_schema(LINE_SCHEMA)
PRODUCT_BODY = _body_schema(PRODUCT_SCHEMA, attributes={"type": "array", "items": OBJ})
ORDER_BODY = _body_schema(ORDER_SCHEMA, line_items={"type": "array", "items": LINE},
                          billing={"type": "object", "additionalProperties": {"type": "string"}},
                          shipping={"type": "object", "additionalProperties": {"type": "string"}})


def _query(name: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "in": "query", "required": False, "schema": schema}


def _id(name: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "integer", "minimum": 0}}


LIST_PARAMS = [
    _query("page", {"type": "integer", "minimum": 1}),
    _query("per_page", {"type": "integer", "minimum": 1, "maximum": 100}),
    _query("order", {"type": "string", "enum": ["asc", "desc"]}),
    _query("orderby", {"type": "string", "enum": ["date", "id", "include", "title", "slug", "modified"]}),
]
PRODUCT_FILTERS = [
    _query("sku", {"type": "string"}), _query("type", {"type": "string"}),
    _query("include", {"type": "string"}), _query("parent", {"type": "string"}),
    _query("status", {"type": "string", "enum": ["any", "trash", *PRODUCT_STATUSES]}),
    _query("stock_status", {"type": "string", "enum": list(STOCK_STATUSES)}),
]
LIST_HEADERS = {name: {"schema": {"type": "string"}} for name in ("X-WP-Total", "X-WP-TotalPages")}


def _responses(success: int, schema: dict[str, Any], errors: tuple[int, ...] = (),
               headers: dict[str, Any] | None = None) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": "Success", "content": {JSON: {"schema": schema}}}
    if headers:
        ok["headers"] = headers
    answers = {str(success): ok}
    for code in sorted({*REST_ERRORS, *errors}):
        answers[str(code)] = {"description": ERROR_TEXT[code], "content": {JSON: {"schema": ERROR}}}
    return answers


def _op(op_id: str, responses: dict[str, Any], params: list[dict[str, Any]] | None = None,
        body: dict[str, Any] | None = None, security: list[Any] | None = None) -> dict[str, Any]:
    operation: dict[str, Any] = {"operationId": op_id, "parameters": params or [], "responses": responses}
    if body is not None:
        operation["requestBody"] = {"required": False, "content": {JSON: {"schema": body}}}
    if security is not None:
        operation["security"] = security
    return operation


def _batch_body(item: dict[str, Any]) -> dict[str, Any]:
    return {"type": "object", "properties": {
        "create": {"type": "array", "items": item},
        "update": {"type": "array", "items": {**item, "required": ["id"],
                                              "properties": {**item["properties"], "id": {"type": "integer"}}}},
        "delete": {"type": "array", "items": {"type": "integer"}},
    }}


# A batch answers a list per section sent, or PHP's empty array [] for an empty batch.
BATCH_ANSWER = {"oneOf": [{"type": "object", "additionalProperties": {"type": "array", "items": OBJ}},
                          {"type": "array", "maxItems": 0}]}


def _collection(name: str, item: dict[str, Any], body: dict[str, Any], filters: list[dict[str, Any]],
                path_params: list[dict[str, Any]], item_param: str) -> dict[str, dict[str, Any]]:
    """The list/create, batch and single-item routes of one collection."""
    base = f"{REST}/{name}"
    name = name.replace("/{product_id}/", "_")  # operationIds stay plain words
    single = [*path_params, _id(item_param)]
    edit = {m: _op(f"{name}_{item_param}_update_{m}", _responses(200, item), single, body)
            for m in ("put", "post", "patch")}
    batch = {m: _op(f"{name}_batch_{m}", _responses(200, BATCH_ANSWER, (413,)), path_params, _batch_body(body))
             for m in ("put", "post", "patch")}
    return {
        base: {"get": _op(f"{name}_list", _responses(200, {"type": "array", "items": item}, headers=LIST_HEADERS),
                          [*path_params, *LIST_PARAMS, *filters]),
               "post": _op(f"{name}_create", _responses(201, item), path_params, body)},
        f"{base}/batch": batch,
        f"{base}/{{{item_param}}}": {
            "get": _op(f"{name}_{item_param}_get", _responses(200, item), single),
            "delete": _op(f"{name}_{item_param}_delete", _responses(200, item, (410,)),
                          [*single, _query("force", {"type": "boolean"})]),
            **edit},
    }


def _paths() -> dict[str, dict[str, Any]]:
    parent = [_id("product_id")]
    variation_filters = [_query("status", {"type": "string", "enum": ["any", "trash", *PRODUCT_STATUSES]})]
    order_filters = [_query("status", {"type": "string", "enum": ["any", "trash", *ORDER_STATUSES]})]
    catalog = {"description": "The catalog file the icml job wrote",
               "content": {"application/xml": {"schema": {"type": "string"}}}}
    missing = {"description": "WordPress's 404 page", "content": {"text/html": {"schema": {"type": "string"}}}}
    return {
        REST: {"get": _op("index", _responses(200, {"type": "object", "required": ["namespace", "routes"]}),
                          security=[])},
        **_collection("products", PRODUCT, PRODUCT_BODY, PRODUCT_FILTERS, [], "product_id"),
        **_collection("products/{product_id}/variations", PRODUCT, PRODUCT_BODY, variation_filters, parent,
                      "variation_id"),
        **_collection("orders", ORDER, ORDER_BODY, order_filters, [], "order_id"),
        f"{REST}/system_status": {"get": _op("system_status", _responses(200, {
            "type": "object", "required": ["environment", "active_plugins", "settings"]}))},
        f"/{CATALOG_FILE}": {m: _op(f"catalog_file_{m}", {"200": catalog, "404": missing}, security=[])
                             for m in ("get", "head")},
    }


def _schemas() -> dict[str, Any]:
    nullable_int = {"type": "integer", "nullable": True}
    return {
        "Error": {"type": "object", "required": ["code", "message", "data"], "properties": {
            "code": {"type": "string"}, "message": {"type": "string"},
            "data": {"type": "object", "required": ["status"], "properties": {"status": {"type": "integer"}}}}},
        "Product": {"type": "object", "required": ["id", "type", "status", "manage_stock", "stock_quantity",
                                                   "stock_status"], "properties": {
            "id": {"type": "integer"}, "type": {"type": "string"}, "status": {"type": "string"},
            "sku": {"type": "string"}, "manage_stock": {"oneOf": [{"type": "boolean"}, {"enum": ["parent"]}]},
            "stock_quantity": nullable_int, "stock_status": {"type": "string", "enum": list(STOCK_STATUSES)},
            "parent_id": {"type": "integer"}}},
        "Order": {"type": "object", "required": ["id", "status", "line_items", "total"], "properties": {
            "id": {"type": "integer"}, "status": {"type": "string"}, "total": {"type": "string"},
            "line_items": {"type": "array", "items": {"type": "object", "required": ["id", "quantity"], "properties": {
                "id": {"type": "integer"}, "product_id": {"type": "integer"}, "quantity": {"type": "integer"}}}}}},
    }


def openapi_document(server_url: str = "") -> dict[str, Any]:
    """The whole document; ``server_url`` is where this fake answers (empty: relative)."""
    doc: dict[str, Any] = {
        "openapi": "3.0.3",
        "info": {"title": "stocksim fake WooCommerce REST v3", "version": "9.9.5",
                 "description": f"What the fake serves; see docs/shop.md. Batches take at most {BATCH_LIMIT} "
                                "items. OAuth 1.0a and HTTP Basic are accepted too (not described here)."},
        "paths": _paths(),
        "components": {
            "securitySchemes": {
                "consumerKey": {"type": "apiKey", "in": "query", "name": "consumer_key"},
                "consumerSecret": {"type": "apiKey", "in": "query", "name": "consumer_secret"},
            },
            "schemas": _schemas(),
        },
        "security": AUTH,
    }
    if server_url:
        doc["servers"] = [{"url": server_url}]
    return doc
