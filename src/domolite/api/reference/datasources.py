"""Answers of the instance API's DataSet operations (/api/...): a datasource's metadata, create and delete, SQL,
the indexed schema, tags, properties and cards; three-stage uploads, data versions and hydrate, partitions and
indexing; the Data Center search; and Export to S3."""

from __future__ import annotations

from typing import Any

from domolite.api.reference.shapes import (
    BOOL,
    EMPTY_ARRAY,
    EPOCH_MS,
    INT,
    NULL,
    NULL_EPOCH_MS,
    NULL_INT,
    NULL_STR,
    STR,
    TIME,
    const,
    list_of,
    obj,
    one_of,
    ref,
)
from domolite.models.records import DomoType, ExecutionState, UpdateMethod

_ROWS_UNLESS_FILTERED = {"type": ["integer", "null"], "description": "null when the caller is PDP-filtered."}

_VALUE = {
    "description": "A value, in the order of `columns`: LONG as an integer, DOUBLE and DECIMAL as a number, DATE and "
    "DATETIME as ISO text, STRING as text, null; what SQL makes beyond Domo's types keeps its JSON form."
}

SCHEMAS: dict[str, dict[str, Any]] = {
    "Datasource": obj(
        {
            "id": STR,
            "displayType": STR,
            "dataProviderType": STR,
            "type": STR,
            "name": STR,
            "description": STR,
            "owner": obj({"id": STR, "name": STR, "type": const("USER"), "group": BOOL}),
            "status": STR,
            "created": EPOCH_MS,
            "lastTouched": EPOCH_MS,
            "lastUpdated": EPOCH_MS,
            "rowCount": INT,
            "columnCount": INT,
            "cardInfo": obj({"cardCount": INT, "cardViewCount": INT}),
            "properties": {
                "type": "object",
                "description": "Domo's formulas, and every property a client set (free-form).",
                "properties": {
                    "formulas": {
                        "type": "object",
                        "description": "Domo's Beast Modes: {formulas: {}} (domolite has none).",
                        "additionalProperties": True,
                    }
                },
                "additionalProperties": True,
            },
            "state": STR,
            "validConfiguration": BOOL,
            "validAccount": BOOL,
            "transportType": one_of(["CONNECTOR", "API"]),
            "adc": BOOL,
            "adcExternal": BOOL,
            "adcSource": STR,
            "masked": BOOL,
            "currentUserFullAccess": BOOL,
            "cloudId": STR,
            "cloudName": STR,
            "permissions": one_of(["READ_WRITE_DELETE_SHARE_ADMIN", "READ_WRITE_SHARE", "READ", "NONE"]),
            "hidden": BOOL,
            "tags": {"type": "string", "description": "The tags as JSON text: an array of strings."},
            "scheduleActive": BOOL,
            "cardCount": INT,
            "cryoStatus": STR,
            "cloudEngine": STR,
            "pdpEnabled": BOOL,
        },
        {"streamId": {**INT, "description": "The stream that feeds the DataSet."}},
    ),
    "CreatedDatasource": obj(
        {
            "dataSource": {"allOf": [ref("Datasource"), obj({"dataSourceId": STR})]},
            "schema": ref("IndexedSchema"),
        }
    ),
    "IndexedSchema": obj(
        {
            "name": const("schema"),
            "tables": list_of(
                obj(
                    {
                        "name": const("table"),
                        "columns": list_of(
                            obj({"name": STR, "id": STR, "type": one_of(DomoType), "visible": BOOL, "order": INT})
                        ),
                    }
                )
            ),
            "dataSourceId": STR,
        }
    ),
    "InstanceQueryResult": obj(
        {
            "datasource": STR,
            "columns": list_of(STR),
            "metadata": list_of(
                obj(
                    {
                        "type": one_of(DomoType),
                        "dataSourceId": STR,
                        "maxLength": INT,
                        "minLength": INT,
                        "periodIndex": INT,
                        "aggregated": BOOL,
                        "analytic": BOOL,
                    }
                )
            ),
            "rows": list_of(list_of(_VALUE)),
            "numRows": INT,
            "numColumns": INT,
            "fromcache": BOOL,
            "duration": {"type": "string", "description": "How long the query took, in milliseconds."},
        }
    ),
    "UploadOpened": obj({"dataSourceId": STR, "uploadId": INT, "requestedAsOf": EPOCH_MS}),
    "UploadPart": obj({"dataSourceId": STR, "uploadId": INT, "partId": INT, "parts": INT}),
    "UploadCommitted": obj(
        {
            "dataSourceId": STR,
            "uploadId": INT,
            "status": one_of(ExecutionState),
            "uploadStatus": one_of(ExecutionState),
            "action": one_of(UpdateMethod),
            "dataTag": NULL_STR,
            "numRows": INT,
            "numBytes": INT,
            "index": BOOL,
        }
    ),
    "DataVersion": obj(
        {
            "dataSourceId": STR,
            "dataId": INT,
            "dataVersionId": INT,
            "uploadStatus": const("SUCCESS"),
            "status": const("SUCCESS"),
            "statusMessage": NULL,
            "numRows": {**_ROWS_UNLESS_FILTERED, "description": "Rows it added; null when the caller is PDP-filtered."},
            "rowCount": {
                **_ROWS_UNLESS_FILTERED,
                "description": "Rows after it; null when the caller is PDP-filtered.",
            },
            "numBytes": INT,
            "sizeBytes": INT,
            "recordedDate": EPOCH_MS,
            "datetimeRecorded": EPOCH_MS,
            "datetimeUploadCompleted": EPOCH_MS,
            "updateMethod": STR,
            "dataTag": NULL_STR,
        }
    ),
    "PartitionId": obj({"partitionId": STR, "dataId": INT}),
    "Partition": obj(
        {
            "partitionId": STR,
            "dataId": INT,
            "dateCompleted": {"type": "string", "format": "date-time"},
            "rowCount": _ROWS_UNLESS_FILTERED,
        }
    ),
    "Index": obj(
        {
            "indexId": INT,
            "id": INT,
            "dataSourceId": STR,
            "status": STR,
            "filesMerged": INT,
            "message": NULL_STR,
            "created": EPOCH_MS,
            "completed": NULL_EPOCH_MS,
        }
    ),
    "SearchObject": obj(
        {
            "entityType": const("dataset"),
            "databaseId": STR,
            "id": STR,
            "name": STR,
            "description": STR,
            "createDate": EPOCH_MS,
            "lastModified": EPOCH_MS,
            "lastUpdated": EPOCH_MS,
            "ownedById": STR,
            "ownedByName": STR,
            "ownedByType": const("USER"),
            "owners": list_of(obj({"id": STR, "type": const("USER"), "displayName": STR})),
            "rowCount": INT,
            "columnCount": INT,
            "dataprovidername": STR,
            "dataProviderType": STR,
            "pdpEnabled": BOOL,
            "tags": list_of(STR),
            "cloudId": STR,
            "cloudName": STR,
        }
    ),
    "SearchResult": obj(
        {"searchObjects": list_of("SearchObject"), "totalResultCount": INT, "count": INT, "offset": INT}
    ),
    "ExportJob": obj(
        {
            "exportId": STR,
            "exportStatus": {"type": "string"},
            "bucket": STR,
            "exportFormat": STR,
            "compression": STR,
            "urlRowCountMap": {"type": "object", "additionalProperties": INT},
            "tempUrlRowCountMap": {"type": "object", "additionalProperties": INT},
        },
        {
            "errorCode": NULL_STR,
            "message": NULL_STR,
            "started": TIME,
            "finished": TIME,
            "datasetId": STR,
            "rowsWritten": NULL_INT,
            "bytesWritten": NULL_INT,
            "manifestUrl": NULL_STR,
        },
    ),
}

_DS = "/api/data/v3/datasources/{dataset_id}"
_QUERY_DS = "/api/query/v1/datasources/{dataset_id}"
_UPLOADS = _DS + "/uploads"

RESPONSES: dict[tuple[str, str], dict[str, Any]] = {
    ("get", _DS): ref("Datasource"),
    ("delete", _DS): obj({"dataSourceId": STR, "deleted": const(True)}),
    ("post", "/api/data/v2/datasources"): ref("CreatedDatasource"),
    ("post", "/api/query/v1/execute/{dataset_id}"): ref("InstanceQueryResult"),
    ("get", _QUERY_DS + "/schema/indexed"): ref("IndexedSchema"),
    ("post", "/api/data/v2/datasources/{dataset_id}/schemas"): obj(
        {"schemaId": {**INT, "description": "The data version the change made."}}
    ),
    ("post", "/api/data/ui/v3/datasources/{dataset_id}/tags"): obj({"dataSourceId": STR, "tags": list_of(STR)}),
    ("put", _DS + "/properties"): ref("Datasource"),
    ("get", "/api/content/v1/datasources/{dataset_id}/cards"): {**EMPTY_ARRAY, "description": "No cards: always []."},
    ("post", _UPLOADS): {
        "anyOf": [ref("UploadOpened"), ref("UploadCommitted")],
        "description": "The open upload; a one-row upload (`values`) is committed at once and answers as a commit.",
    },
    ("put", _UPLOADS + "/{upload_id}/parts/{part_no}"): ref("UploadPart"),
    ("put", _UPLOADS + "/{upload_id}/commit"): ref("UploadCommitted"),
    ("get", _DS + "/dataversions/details"): list_of("DataVersion"),
    ("post", "/api/dataprocessing/v2/dataflows/data-version-hydrate"): list_of("DataVersion"),
    ("get", _QUERY_DS + "/partition"): list_of("PartitionId"),
    ("post", _QUERY_DS + "/partition/list"): list_of("Partition"),
    ("delete", _QUERY_DS + "/tag/{tag}/data"): obj(
        {"dataSourceId": STR, "partitionId": STR, "dataId": INT, "deleted": BOOL}
    ),
    ("delete", _QUERY_DS + "/partition/{tag}"): obj({"dataSourceId": STR, "partitionId": STR, "removed": const(True)}),
    ("post", _DS + "/indexes"): ref("Index"),
    ("get", _DS + "/indexes/{index_id}/statuses"): ref("Index"),
    ("post", _QUERY_DS): ref("Index"),
    ("post", "/api/search/v1/query"): ref("SearchResult"),
    ("post", "/api/query/v1/export/{dataset_id}"): ref("ExportJob"),
    ("get", "/api/query/v1/export/{dataset_id}"): list_of("ExportJob"),
    ("get", "/api/query/v1/export/{dataset_id}/{export_id}"): ref("ExportJob"),
}
