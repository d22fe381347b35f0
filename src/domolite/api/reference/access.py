"""Answers of the operations about who may do what: session login and the caller (/api/content/v2), a
DataSet's sharing, PDP filter groups and the PDP switch (/api/query/v1/data-control), developer tokens, connector
accounts in both forms, and the activity log in both forms."""

from __future__ import annotations

from typing import Any

from domolite.api.reference.shapes import (
    BOOL,
    EMPTY_ARRAY,
    EMPTY_OBJECT,
    EPOCH_MS,
    INT,
    NULL,
    NULL_STR,
    STR,
    TIME,
    const,
    list_of,
    obj,
    one_of,
    ref,
)
from domolite.models.access import AccessLevel, FilterOperator, GranteeType, PolicyType
from domolite.models.audit import Action, ObjectType
from domolite.models.records import Role

_DATA_CONTROL = "/api/query/v1/data-control/{dataset_id}"
_DS = "/api/data/v3/datasources/{dataset_id}"
_TOKENS = "/api/data/v1/accesstokens"
_ACCOUNTS = "/api/data/v1/accounts"

SCHEMAS: dict[str, dict[str, Any]] = {
    "LoginResult": {
        "oneOf": [
            obj(
                {
                    "userId": INT,
                    "success": const(True),
                    "sessionToken": {**STR, "description": "Send it as X-DOMO-Authentication."},
                    "twoFactorInfo": obj({"token": NULL, "key": NULL, "status": const("VALID"), "phoneMask": NULL}),
                }
            ),
            obj({"success": const(False), "reason": const("INVALID_CREDENTIALS")}),
        ],
        "description": "Wrong credentials are a 200 too, with success false and the reason.",
    },
    "InstanceUser": obj(
        {
            "id": INT,
            "invitorUserId": NULL,
            "displayName": STR,
            "department": STR,
            "userName": STR,
            "emailAddress": STR,
            "avatarKey": STR,
            "accepted": BOOL,
            "userType": const("USER"),
            "role": one_of(Role),
            "active": BOOL,
            "pending": BOOL,
            "anonymous": BOOL,
            "systemUser": BOOL,
        }
    ),
    "AccessList": obj(
        {
            "list": list_of(
                obj(
                    {
                        "type": one_of(GranteeType),
                        "id": {**STR, "description": "The user's or group's id."},
                        "accessLevel": one_of(AccessLevel),
                        "name": STR,
                    }
                )
            ),
            "totalUserCount": INT,
            "totalGroupCount": INT,
        }
    ),
    "FilterGroup": obj(
        {
            "name": STR,
            "filterGroupId": INT,
            "dataSourceId": STR,
            "type": one_of(PolicyType),
            "userIds": list_of(INT),
            "groupIds": list_of(INT),
            "virtualUserIds": EMPTY_ARRAY,
            "dataSourcePermissions": BOOL,
            "resources": obj({"USER": list_of(STR), "GROUP": list_of(STR)}),
            "parameters": list_of(
                obj(
                    {
                        "name": {**STR, "description": "The column."},
                        "value": {**NULL_STR, "description": "The first of `values`."},
                        "values": list_of(STR),
                        "type": const("COLUMN"),
                        "operator": one_of(FilterOperator),
                        "not": BOOL,
                        "ignoreCase": BOOL,
                    }
                )
            ),
            "order": INT,
        }
    ),
    "PdpSwitch": obj({"enabled": BOOL, "secured": BOOL, "external": BOOL, "enabledColumn": BOOL}),
    "DeveloperToken": obj(
        {
            "id": STR,
            "name": STR,
            "ownerId": INT,
            "createdAt": {"type": "string", "format": "date-time"},
            "revoked": BOOL,
            "revokedAt": TIME,
        }
    ),
    "InstanceAccount": obj(
        {
            "id": INT,
            "accountId": INT,
            "userId": INT,
            "name": STR,
            "displayName": STR,
            "type": const("data"),
            "valid": BOOL,
            "dataProviderType": STR,
            "createdAt": EPOCH_MS,
            "createdBy": INT,
            "modifiedAt": EPOCH_MS,
            "modifiedBy": INT,
            "configurations": {
                "type": "object",
                "description": "The non-secret configuration keys (a secret one is never returned).",
                "additionalProperties": {"type": ["string", "boolean"]},
            },
        }
    ),
    "PublicAccount": obj(
        {
            "id": {**STR, "description": "The account's id, as a string."},
            "name": STR,
            "valid": BOOL,
            "type": obj({"id": {**STR, "description": "The data provider type."}, "properties": EMPTY_OBJECT}),
        }
    ),
    "ActivityLogEntry": obj(
        {
            "id": INT,
            "time": EPOCH_MS,
            "userId": NULL_STR,
            "userName": NULL_STR,
            "userType": one_of(["USER", "SYSTEM", "ANONYMOUS"]),
            "actionType": one_of(Action),
            "objectType": one_of(ObjectType),
            "objectId": NULL_STR,
            "objectName": NULL_STR,
            "eventText": STR,
            "additionalComment": STR,
            "ipAddress": NULL_STR,
            "browserDetails": NULL_STR,
            "device": STR,
            "authentication": {**STR, "description": "How the user came in (oauth, developer token, session, ...)."},
            "credentialId": NULL_STR,
        }
    ),
}

RESPONSES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", "/api/content/v2/authentication"): ref("LoginResult"),
    ("get", "/api/content/v2/users/me"): ref("InstanceUser"),
    ("get", _DS + "/permissions"): ref("AccessList"),
    ("post", _DS + "/share"): EMPTY_OBJECT,
    ("delete", _DS + "/permissions/{grantee_type}/{grantee_id}"): EMPTY_OBJECT,
    ("delete", _DS + "/USERS/{user_id}"): EMPTY_OBJECT,
    ("delete", _DS + "/users"): EMPTY_OBJECT,
    ("get", _DATA_CONTROL + "/filter-groups"): list_of("FilterGroup"),
    ("post", _DATA_CONTROL + "/filter-groups"): ref("FilterGroup"),
    ("get", _DATA_CONTROL + "/filter-groups/{policy_id}"): ref("FilterGroup"),
    ("put", _DATA_CONTROL + "/filter-groups/{policy_id}"): ref("FilterGroup"),
    ("delete", _DATA_CONTROL + "/filter-groups/{policy_id}"): EMPTY_OBJECT,
    ("get", _DATA_CONTROL): ref("PdpSwitch"),
    ("put", _DATA_CONTROL): ref("PdpSwitch"),
    ("get", _TOKENS): list_of("DeveloperToken"),
    ("post", _TOKENS): {
        "allOf": [ref("DeveloperToken"), obj({"token": {**STR, "description": "The token itself, shown only here."}})]
    },
    ("post", _ACCOUNTS): ref("InstanceAccount"),
    ("get", _ACCOUNTS): list_of("InstanceAccount"),
    ("get", _ACCOUNTS + "/{account_id}"): ref("InstanceAccount"),
    ("put", _ACCOUNTS + "/{account_id}"): ref("InstanceAccount"),
    ("patch", _ACCOUNTS + "/{account_id}"): ref("InstanceAccount"),
    ("post", "/v1/accounts"): ref("PublicAccount"),
    ("get", "/v1/accounts"): list_of("PublicAccount"),
    ("get", "/v1/accounts/{account_id}"): ref("PublicAccount"),
    ("patch", "/v1/accounts/{account_id}"): ref("PublicAccount"),
    ("get", "/v1/audit"): list_of("ActivityLogEntry"),
    ("get", "/api/audit/v1/user-audits"): list_of("ActivityLogEntry"),
}
