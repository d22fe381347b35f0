"""Answers of Domo's public API (/oauth/token and /v1/...): OAuth tokens, DataSets, Streams and their executions,
users, groups and their members, and PDP policies."""

from __future__ import annotations

from typing import Any

from domolite.api.reference.shapes import BOOL, EMPTY_ARRAY, INT, NULL_INT, STR, TIME, list_of, obj, one_of, ref
from domolite.models.access import FilterOperator
from domolite.models.records import DomoType

_COLUMN = obj({"type": one_of(DomoType), "name": STR})
SCHEMAS: dict[str, dict[str, Any]] = {
    "Column": _COLUMN,
    "DataSet": obj(
        {
            "id": STR,
            "name": STR,
            "description": {"type": ["string", "null"]},
            "rows": NULL_INT,
            "columns": INT,
            "schema": obj({"columns": list_of("Column")}),
            "owner": obj({"id": INT, "name": STR}),
            "createdAt": TIME,
            "updatedAt": TIME,
            "pdpEnabled": {"type": "boolean"},
        },
        {"dataCurrentAt": TIME},
    ),
    "Stream": obj(
        {"id": INT, "dataSet": ref("DataSet"), "updateMethod": STR, "createdAt": TIME, "modifiedAt": TIME},
        {"keyColumnNames": {"type": "array", "items": STR}},
    ),
    "Execution": obj(
        {
            "id": INT,
            "startedAt": TIME,
            "currentState": {"type": "string", "enum": ["ACTIVE", "COMMITTING", "SUCCESS", "ERROR", "ABORTED"]},
            "createdAt": TIME,
            "modifiedAt": TIME,
            "updateMethod": STR,
            "uploadedParts": INT,
            "rows": NULL_INT,
            "bytes": NULL_INT,
        },
        {"endedAt": TIME, "errors": {"type": "array", "items": obj({"message": STR})}},
    ),
    "QueryResult": obj(
        {
            "datasource": STR,
            "columns": {"type": "array", "items": STR},
            "metadata": {"type": "array", "items": obj({"type": STR, "dataSourceId": STR})},
            "rows": {"type": "array", "items": {"type": "array", "items": {}}},
            "numRows": INT,
            "numColumns": INT,
            "fromcache": {"type": "boolean"},
        }
    ),
    "AccessToken": obj(
        {"access_token": STR, "token_type": {"const": "bearer"}, "expires_in": INT, "scope": STR},
        {"userId": INT, "role": STR, "jti": STR, "customer": STR, "env": STR},
    ),
    "User": obj({"id": INT, "name": STR, "email": STR, "role": STR}, {"createdAt": TIME, "updatedAt": TIME}),
    "Group": obj(
        {"id": INT, "name": STR, "active": {"type": "boolean"}, "memberCount": INT},
        {
            "description": {"type": ["string", "null"]},
            "creatorId": NULL_INT,
            "default": {"type": "boolean"},
            "createdAt": TIME,
        },
    ),  # fmt: skip
    "Policy": obj(
        {
            "id": INT,
            "type": STR,
            "name": STR,
            "filters": {
                "type": "array",
                "items": obj({"column": STR, "values": list_of(STR), "operator": one_of(FilterOperator), "not": BOOL}),
            },
            "users": {"type": "array", "items": INT},
            "groups": {"type": "array", "items": INT},
        },
        {"virtualUsers": EMPTY_ARRAY},
    ),  # fmt: skip
}

RESPONSES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/oauth/token"): ref("AccessToken"),
    ("get", "/oauth/token"): ref("AccessToken"),
    ("post", "/v1/datasets"): ref("DataSet"),
    ("get", "/v1/datasets"): list_of("DataSet"),
    ("get", "/v1/datasets/{dataset_id}"): ref("DataSet"),
    ("put", "/v1/datasets/{dataset_id}"): ref("DataSet"),
    ("post", "/v1/datasets/query/execute/{dataset_id}"): ref("QueryResult"),
    ("post", "/v1/streams"): ref("Stream"),
    ("get", "/v1/streams"): list_of("Stream"),
    ("get", "/v1/streams/search"): list_of("Stream"),
    ("get", "/v1/streams/{stream_id}"): ref("Stream"),
    ("patch", "/v1/streams/{stream_id}"): ref("Stream"),
    ("post", "/v1/streams/{stream_id}/executions"): ref("Execution"),
    ("get", "/v1/streams/{stream_id}/executions"): list_of("Execution"),
    ("get", "/v1/streams/{stream_id}/executions/{execution_id}"): ref("Execution"),
    ("put", "/v1/streams/{stream_id}/executions/{execution_id}/part/{part_no}"): ref("Execution"),
    ("put", "/v1/streams/{stream_id}/executions/{execution_id}/commit"): ref("Execution"),
    ("put", "/v1/streams/{stream_id}/executions/{execution_id}/abort"): ref("Execution"),
    ("post", "/v1/users"): ref("User"),
    ("get", "/v1/users"): list_of("User"),
    ("get", "/v1/users/{user_id}"): ref("User"),
    ("put", "/v1/users/{user_id}"): ref("User"),
    ("post", "/v1/groups"): ref("Group"),
    ("get", "/v1/groups"): list_of("Group"),
    ("get", "/v1/groups/{group_id}"): ref("Group"),
    ("put", "/v1/groups/{group_id}"): ref("Group"),
    ("get", "/v1/datasets/{dataset_id}/policies"): list_of("Policy"),
    ("post", "/v1/datasets/{dataset_id}/policies"): ref("Policy"),
    ("get", "/v1/datasets/{dataset_id}/policies/{policy_id}"): ref("Policy"),
    ("put", "/v1/datasets/{dataset_id}/policies/{policy_id}"): ref("Policy"),
    ("get", "/v1/groups/{group_id}/users"): list_of({**INT, "description": "A member's user id."}),
}
