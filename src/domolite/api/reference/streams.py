"""Answers of the instance API's streams (/api/data/v1/streams): a stream in its connector form (transport, data
provider, account, configuration, schedule, last runs), its runs and their history."""

from __future__ import annotations

from typing import Any

from domolite.api.reference.shapes import (
    BOOL,
    EMPTY_ARRAY,
    EPOCH_MS,
    EPOCH_S,
    INT,
    NULL,
    NULL_EPOCH_S,
    NULL_INT,
    NULL_STR,
    STR,
    list_of,
    nullable,
    obj,
    one_of,
    ref,
)
from domolite.models.records import DomoType, ExecutionState, UpdateMethod

_ERRORS = {**list_of(obj({"message": STR})), "description": "The run's error, when it failed; else []."}
_ROWS = {**NULL_INT, "description": "Rows the run loaded; null when the caller is PDP-filtered."}

SCHEMAS: dict[str, dict[str, Any]] = {
    "StreamRun": obj(
        {
            "streamId": INT,
            "executionId": {**INT, "description": "The run's number in its stream."},
            "toe": STR,
            "startedAt": EPOCH_S,
            "endedAt": NULL_EPOCH_S,
            "updateMethod": one_of(UpdateMethod),
            "index": BOOL,
            "retryCount": INT,
            "currentState": one_of(ExecutionState),
            "currentPhase": one_of(["RUNNING", "FINAL"]),
            "runType": one_of(["MANUAL", "AUTOMATED"]),
            "startedBy": NULL_INT,
            "createdAt": EPOCH_S,
            "modifiedAt": EPOCH_S,
            "removed": BOOL,
            "rowsInserted": _ROWS,
            "bytesInserted": INT,
            "uploadId": {**INT, "description": "The upload (execution) that holds the run's data."},
            "exportId": {**NULL_STR, "description": "The export a write-back run made."},
            "errors": _ERRORS,
        }
    ),
    "StreamRunHistory": obj(
        {
            "streamId": INT,
            "executionId": INT,
            "currentState": one_of(ExecutionState),
            "rowsInserted": _ROWS,
            "bytesInserted": INT,
            "startedAt": EPOCH_S,
            "endedAt": NULL_EPOCH_S,
            "updateMethod": one_of(UpdateMethod),
            "runType": one_of(["MANUAL", "AUTOMATED"]),
            "retryCount": INT,
            "peakMemoryUsedBytes": NULL,
            "errors": _ERRORS,
        }
    ),
    "DataProvider": obj(
        {
            "id": INT,
            "key": STR,
            "name": STR,
            "url": NULL,
            "defaultConnectorId": NULL,
            "defaultConnectorLabel": NULL,
            "authenticationScheme": NULL_STR,
            "connectorValidatorPresent": BOOL,
            "resourceBundlePresent": BOOL,
            "moduleHandler": NULL,
            "iconPicker": BOOL,
            "scope": STR,
            "producer": STR,
            "version": STR,
            "dateCreated": EPOCH_MS,
            "dateUpdated": EPOCH_MS,
            "visibility": {**one_of(["WITH_CONNECTOR", "NONE"]), "description": "WITH_CONNECTOR: domolite runs it."},
            "type": STR,
            "authenticationSchemeConfiguration": EMPTY_ARRAY,
        }
    ),
    "StreamAccount": obj(
        {
            "id": INT,
            "name": STR,
            "displayName": STR,
            "userId": INT,
            "dataProviderType": STR,
            "valid": BOOL,
        }
    ),
    "ConnectorStream": obj(
        {
            "id": INT,
            "valid": BOOL,
            "invalidExecutionId": NULL,
            "transport": obj({"type": STR, "description": STR, "version": STR}),
            "updateMethod": one_of(UpdateMethod),
            "dataProvider": ref("DataProvider"),
            "account": {
                "anyOf": [
                    ref("StreamAccount"),
                    {"type": "object", "additionalProperties": True},
                    NULL,
                ],
                "description": "The account the connector names, as it is here; the connector's account as it "
                "was sent when no such account exists; null for a stream without a connector.",
            },
            "dataSource": {
                "allOf": [ref("Datasource"), obj({}, {"nextUpdate": {**EPOCH_MS, "description": "The next run."}})]
            },
            "schemaDefinition": obj(
                {"columns": list_of(obj({"type": one_of(DomoType), "name": STR, "id": STR, "visible": BOOL}))}
            ),
            "scheduleExpression": NULL_STR,
            "scheduleStartDate": NULL,
            "advancedScheduleJson": NULL_STR,
            "scheduleRetryExpression": NULL,
            "scheduleRetryCount": INT,
            "lastExecution": nullable("StreamRun"),
            "lastSuccessfulExecution": nullable("StreamRun"),
            "currentExecution": {**nullable("StreamRun"), "description": "The last run while it has not ended."},
            "currentExecutionState": {"anyOf": [one_of(ExecutionState), NULL], "description": "The last run's state."},
            "createdAt": EPOCH_S,
            "createdBy": INT,
            "modifiedAt": EPOCH_S,
            "modifiedBy": INT,
            "scheduleState": one_of(["ACTIVE", "INACTIVE"]),
            "scheduleAssertion": BOOL,
            "inactiveScheduleCode": NULL,
            "configuration": list_of(
                {
                    "type": "object",
                    "required": ["streamId", "category", "type"],
                    "description": "A configuration item as the client sent it (name, value, ...) over the "
                    "stream's id, category METADATA and type string, so the client's own keys win.",
                    "additionalProperties": True,
                }
            ),
        }
    ),
}

_STREAMS = "/api/data/v1/streams"

RESPONSES: dict[tuple[str, str], dict[str, Any]] = {
    ("post", _STREAMS): ref("ConnectorStream"),
    ("get", _STREAMS): list_of("ConnectorStream"),
    ("get", _STREAMS + "/{stream_id}"): ref("ConnectorStream"),
    ("put", _STREAMS + "/{stream_id}"): ref("ConnectorStream"),
    ("post", _STREAMS + "/{stream_id}/executions"): ref("StreamRun"),
    ("get", _STREAMS + "/{stream_id}/executions"): list_of("StreamRun"),
    ("get", _STREAMS + "/{stream_id}/executions/{execution_id}"): ref("StreamRun"),
    ("get", _STREAMS + "/{stream_id}/history/aggregate"): list_of("StreamRunHistory"),
}
