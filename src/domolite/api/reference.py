"""The API reference's additions to /openapi.json: each operation's tag (its API and noun), the response
schemas of the public DataSet, Stream, user, group, PDP and Export to S3 operations (the handlers build their
answers as dicts in Domo's key order, so FastAPI cannot see them), and an explicit empty body for the POST and
PUT operations that read none (so every POST, PUT and PATCH says what it takes)."""

from __future__ import annotations

from typing import Any

_STR = {"type": "string"}
_INT = {"type": "integer"}
_NULL_INT = {"type": ["integer", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time"}


def _object(required: dict[str, Any], optional: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"type": "object", "required": list(required), "properties": {**required, **(optional or {})}}


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _list(name: str) -> dict[str, Any]:
    return {"type": "array", "items": _ref(name)}


_COLUMN = _object({"type": {"type": "string", "enum": ["STRING", "LONG", "DOUBLE", "DECIMAL", "DATE", "DATETIME"]},
                   "name": _STR})  # fmt: skip
SCHEMAS: dict[str, dict[str, Any]] = {
    "Column": _COLUMN,
    "DataSet": _object(
        {
            "id": _STR,
            "name": _STR,
            "description": {"type": ["string", "null"]},
            "rows": _NULL_INT,
            "columns": _INT,
            "schema": _object({"columns": _list("Column")}),
            "owner": _object({"id": _INT, "name": _STR}),
            "createdAt": _TIME,
            "updatedAt": _TIME,
            "pdpEnabled": {"type": "boolean"},
        },
        {"dataCurrentAt": _TIME},
    ),
    "Stream": _object(
        {"id": _INT, "dataSet": _ref("DataSet"), "updateMethod": _STR, "createdAt": _TIME, "modifiedAt": _TIME},
        {"keyColumnNames": {"type": "array", "items": _STR}},
    ),
    "Execution": _object(
        {
            "id": _INT,
            "startedAt": _TIME,
            "currentState": {"type": "string", "enum": ["ACTIVE", "COMMITTING", "SUCCESS", "ERROR", "ABORTED"]},
            "createdAt": _TIME,
            "modifiedAt": _TIME,
            "updateMethod": _STR,
            "uploadedParts": _INT,
            "rows": _NULL_INT,
            "bytes": _NULL_INT,
        },
        {"endedAt": _TIME, "errors": {"type": "array", "items": _object({"message": _STR})}},
    ),
    "QueryResult": _object(
        {
            "datasource": _STR,
            "columns": {"type": "array", "items": _STR},
            "metadata": {"type": "array", "items": _object({"type": _STR, "dataSourceId": _STR})},
            "rows": {"type": "array", "items": {"type": "array", "items": {}}},
            "numRows": _INT,
            "numColumns": _INT,
            "fromcache": {"type": "boolean"},
        }
    ),
    "AccessToken": _object(
        {"access_token": _STR, "token_type": {"const": "bearer"}, "expires_in": _INT, "scope": _STR},
        {"userId": _INT, "role": _STR, "jti": _STR, "customer": _STR, "env": _STR},
    ),
    "User": _object({"id": _INT, "name": _STR, "email": _STR, "role": _STR}, {"createdAt": _TIME, "updatedAt": _TIME}),
    "Group": _object(
        {"id": _INT, "name": _STR, "active": {"type": "boolean"}, "memberCount": _INT},
        {
            "description": {"type": ["string", "null"]},
            "creatorId": _NULL_INT,
            "default": {"type": "boolean"},
            "createdAt": _TIME,
        },
    ),  # fmt: skip
    "Policy": _object(
        {
            "id": _INT,
            "type": _STR,
            "name": _STR,
            "filters": {
                "type": "array",
                "items": _object(
                    {"column": _STR, "values": {"type": "array"}, "operator": _STR, "not": {"type": "boolean"}}
                ),
            },
            "users": {"type": "array", "items": _INT},
            "groups": {"type": "array", "items": _INT},
        },
        {"virtualUsers": {"type": "array"}},
    ),  # fmt: skip
    "ExportJob": _object(
        {
            "exportId": _STR,
            "exportStatus": {"type": "string"},
            "bucket": _STR,
            "exportFormat": _STR,
            "compression": _STR,
            "urlRowCountMap": {"type": "object", "additionalProperties": _INT},
            "tempUrlRowCountMap": {"type": "object", "additionalProperties": _INT},
        },
        {
            "errorCode": {"type": ["string", "null"]},
            "message": {"type": ["string", "null"]},
            "started": _TIME,
            "finished": _TIME,
            "datasetId": _STR,
            "rowsWritten": _NULL_INT,
            "bytesWritten": _NULL_INT,
            "manifestUrl": {"type": ["string", "null"]},
        },
    ),  # fmt: skip
    "DataVersion": _object(
        {"dataSourceId": _STR, "dataVersionId": _INT, "updateMethod": {"type": ["string", "null"]}},
        {"numRows": _NULL_INT, "rowCount": _NULL_INT, "sizeBytes": _NULL_INT, "datetimeRecorded": _NULL_INT},
    ),
}

RESPONSES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/oauth/token"): _ref("AccessToken"),
    ("get", "/oauth/token"): _ref("AccessToken"),
    ("post", "/v1/datasets"): _ref("DataSet"),
    ("get", "/v1/datasets"): _list("DataSet"),
    ("get", "/v1/datasets/{dataset_id}"): _ref("DataSet"),
    ("put", "/v1/datasets/{dataset_id}"): _ref("DataSet"),
    ("post", "/v1/datasets/query/execute/{dataset_id}"): _ref("QueryResult"),
    ("post", "/v1/streams"): _ref("Stream"),
    ("get", "/v1/streams"): _list("Stream"),
    ("get", "/v1/streams/search"): _list("Stream"),
    ("get", "/v1/streams/{stream_id}"): _ref("Stream"),
    ("patch", "/v1/streams/{stream_id}"): _ref("Stream"),
    ("post", "/v1/streams/{stream_id}/executions"): _ref("Execution"),
    ("get", "/v1/streams/{stream_id}/executions"): _list("Execution"),
    ("get", "/v1/streams/{stream_id}/executions/{execution_id}"): _ref("Execution"),
    ("put", "/v1/streams/{stream_id}/executions/{execution_id}/part/{part_no}"): _ref("Execution"),
    ("put", "/v1/streams/{stream_id}/executions/{execution_id}/commit"): _ref("Execution"),
    ("put", "/v1/streams/{stream_id}/executions/{execution_id}/abort"): _ref("Execution"),
    ("post", "/v1/users"): _ref("User"),
    ("get", "/v1/users"): _list("User"),
    ("get", "/v1/users/{user_id}"): _ref("User"),
    ("put", "/v1/users/{user_id}"): _ref("User"),
    ("post", "/v1/groups"): _ref("Group"),
    ("get", "/v1/groups"): _list("Group"),
    ("get", "/v1/groups/{group_id}"): _ref("Group"),
    ("put", "/v1/groups/{group_id}"): _ref("Group"),
    ("get", "/v1/datasets/{dataset_id}/policies"): _list("Policy"),
    ("post", "/v1/datasets/{dataset_id}/policies"): _ref("Policy"),
    ("get", "/v1/datasets/{dataset_id}/policies/{policy_id}"): _ref("Policy"),
    ("put", "/v1/datasets/{dataset_id}/policies/{policy_id}"): _ref("Policy"),
    ("post", "/api/query/v1/export/{dataset_id}"): _ref("ExportJob"),
    ("get", "/api/query/v1/export/{dataset_id}"): _list("ExportJob"),
    ("get", "/api/query/v1/export/{dataset_id}/{export_id}"): _ref("ExportJob"),
    ("get", "/api/data/v3/datasources/{dataset_id}/dataversions/details"): _list("DataVersion"),
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
