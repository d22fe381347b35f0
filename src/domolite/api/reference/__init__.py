"""The API reference's additions to /openapi.json: each operation's tag (its API and noun), the schema of every
operation's answer (the handlers build their answers as dicts in Domo's key order, so FastAPI cannot see them;
one module per API family holds them), and an explicit empty body for the POST and PUT operations that read none
(so every POST, PUT and PATCH says what it takes)."""

from __future__ import annotations

from typing import Any

from domolite.api.reference import access, datasources, public, streams

_FAMILIES = (public, datasources, streams, access)
SCHEMAS: dict[str, dict[str, Any]] = {name: s for family in _FAMILIES for name, s in family.SCHEMAS.items()}
RESPONSES: dict[tuple[str, str], dict[str, Any]] = {
    key: s for family in _FAMILIES for key, s in family.RESPONSES.items()
}

# Tags by path prefix, longest first.
_TAGS = (
    ("/oauth", "OAuth"),
    ("/v1/datasets/query", "DataSet API: query"),
    ("/v1/datasets/{dataset_id}/policies", "DataSet API: PDP policies"),
    ("/v1/datasets", "DataSet API"),
    ("/v1/streams", "Stream API"),
    ("/v1/users", "Users"),
    ("/v1/groups", "Groups"),
    ("/v1/accounts", "Accounts"),
    ("/v1/audit", "Activity log"),
    ("/api/query/v1/export", "Export to S3"),
    ("/api/query/v1/data-control", "Instance API: PDP"),
    ("/api/data/v1/accounts", "Instance API: accounts"),
    ("/api/data/v1/accesstokens", "Instance API: access tokens"),
    ("/api/data/v1/streams", "Instance API: streams"),
    ("/api/content/v2/authentication", "Instance API: sessions"),
    ("/api/audit", "Activity log"),
    ("/api/search", "Instance API: search"),
    ("/api/", "Instance API: DataSets"),
)
NO_BODY = {
    "required": False,
    "content": {"application/json": {"schema": {"type": "object", "maxProperties": 0,
                                                "description": "No body is read: send none (or {})."}}},
}  # fmt: skip


def tag_of(path: str) -> str:
    return (
        next(tag for prefix, tag in _TAGS if path.startswith(prefix))
        if path.startswith(("/v1", "/api", "/oauth"))
        else "operations"
    )


def annotate(spec: dict[str, Any]) -> None:
    spec.setdefault("components", {}).setdefault("schemas", {}).update(SCHEMAS)
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            if not operation.get("tags"):
                operation["tags"] = [tag_of(path)]
            if method in ("post", "put", "patch") and "requestBody" not in operation:
                operation["requestBody"] = NO_BODY
            schema = RESPONSES.get((method, path))
            if schema is None:
                continue
            ok = next(status for status in operation["responses"] if status.startswith("2"))
            operation["responses"][ok]["content"] = {"application/json": {"schema": schema}}
