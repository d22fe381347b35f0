"""The OpenAPI document (/openapi.json) as the server behaves: each operation's request body as its model (the
handlers read bodies themselves, leniently, so FastAPI cannot see them), CSV bodies as text/csv, the error
statuses the server sends in Domo's error shape (400, never FastAPI's 422), and the ways to authenticate."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from domolite.api import reference

_MODELS: dict[str, type[BaseModel]] = {}
_MODEL_KEY = "x-domolite-model"

ERROR_SCHEMA = {
    "type": "object",
    "description": "Domo's error body.",
    "required": ["status", "statusReason", "message", "toe"],
    "properties": {
        "status": {"type": "integer"},
        "statusReason": {"type": "string"},
        "message": {"type": "string"},
        "toe": {"type": "string", "description": "The trace id of the request (also the X-DOMO-Toe header)."},
    },
}

_ERRORS = {
    "400": "The request is malformed; the message names the field, part, line or column.",
    "401": "No valid credentials.",
    "403": "The caller may not do this.",
    "404": "No such object.",
    "409": "The object is not in a state that allows this.",
    "413": "The body is larger than the limit.",
    "415": "The body's Content-Encoding is not one the server decodes.",
}

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": "From /oauth/token."},
    "developerToken": {"type": "apiKey", "in": "header", "name": "X-DOMO-Developer-Token"},
    "session": {
        "type": "apiKey",
        "in": "header",
        "name": "X-DOMO-Authentication",
        "description": "A session token from POST /api/content/v2/authentication.",
    },
    "clientCredentials": {"type": "http", "scheme": "basic", "description": "An OAuth client's id and secret."},
}
_SIGNED_IN: list[dict[str, list[str]]] = [{"bearer": []}, {"developerToken": []}, {"session": []}]
_OPEN: dict[str, list[dict[str, list[str]]]] = {
    "/api/content/v2/authentication": [{}],
    "/oauth/token": [{"clientCredentials": []}],
    "/health": [{}],
    "/ready": [{}],
    "/metrics": [{}],
}


def body_model(model: type[BaseModel]) -> dict[str, Any]:
    """`openapi_extra` of an operation whose JSON body is `model` (required when the model has a required
    field; otherwise an empty body stands for the model's defaults)."""
    key = f"{model.__module__}.{model.__qualname__}"
    _MODELS[key] = model
    required = any(field.is_required() for field in model.model_fields.values())
    ref = {_MODEL_KEY: key}  # the component's reference, once every model has its unique name (see _build)
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": ref}}}}


def body_schema(schema: dict[str, Any], *, required: bool = False) -> dict[str, Any]:
    """`openapi_extra` of an operation whose JSON body is not a model (an array of tags, say)."""
    return {"requestBody": {"required": required, "content": {"application/json": {"schema": schema}}}}


def body_csv() -> dict[str, Any]:
    """`openapi_extra` of an operation that takes CSV rows (plain, or gzip with Content-Encoding: gzip)."""
    text = {"schema": {"type": "string", "description": "Header-less CSV rows, as Domo's CSV format has them."}}
    return {
        "requestBody": {
            "required": False,
            "content": {"text/csv": text, "application/gzip": {"schema": {"type": "string", "format": "binary"}}},
        }
    }


def body_form(fields: dict[str, Any]) -> dict[str, Any]:
    """`openapi_extra` of an operation that takes a form body (OAuth's token request)."""
    schema = {"type": "object", "properties": fields}
    return {"requestBody": {"required": False, "content": {"application/x-www-form-urlencoded": {"schema": schema}}}}


def answers_csv() -> dict[str, Any]:
    """`openapi_extra` of an operation that answers CSV."""
    return {"responses": {"200": {"description": "CSV rows.", "content": {"text/csv": {"schema": {"type": "string"}}}}}}


def install(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = _build(app)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _build(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(title=app.title, version=app.version, routes=app.routes)
    components = spec.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas.pop("HTTPValidationError", None)
    schemas.pop("ValidationError", None)
    models = [_MODELS[k] for k in sorted(_MODELS)]
    refs, defs = models_json_schema([(m, "validation") for m in models], ref_template="#/components/schemas/{model}")
    schemas.update(defs.get("$defs", {}))
    schemas["DomoError"] = ERROR_SCHEMA
    components["securitySchemes"] = SECURITY_SCHEMES
    error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/DomoError"}}}}
    for path, operations in spec["paths"].items():
        for operation in operations.values():
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for status, meaning in _ERRORS.items():
                responses.setdefault(status, {"description": meaning, **error})
            operation["security"] = _OPEN.get(path, _SIGNED_IN)
            for content in operation.get("requestBody", {}).get("content", {}).values():
                key = content.get("schema", {}).get(_MODEL_KEY)
                if key is not None:
                    content["schema"] = refs[(_MODELS[key], "validation")]
    reference.annotate(spec)
    return spec
