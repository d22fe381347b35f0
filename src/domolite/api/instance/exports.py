"""/api/query/v1/export/{datasetId}: Export to S3 (start, list) and, beyond Domo, one export's progress."""

from __future__ import annotations

from typing import Annotated

from domolite.api.body import body_of
from domolite.api.deps import ExportsDep, PrincipalDep
from domolite.api.instance.export_schemas import ExportIn, export_out
from domolite.api.openapi import body_model
from domolite.api.responses import JSON
from domolite.api.routing import Router

router = Router()


@router.post("/api/query/v1/export/{dataset_id}", openapi_extra=body_model(ExportIn))
def start_export(
    dataset_id: str, principal: PrincipalDep, body: Annotated[ExportIn, body_of(ExportIn)], exports: ExportsDep
) -> JSON:
    """Export the DataSet (or a query of it) to S3 as CSV files and a manifest; the export runs in the
    background. While one runs for the DataSet, starting another answers the running one."""
    job = exports.start(principal, dataset_id, body.to_domain())
    return JSON(export_out(job))


@router.get("/api/query/v1/export/{dataset_id}")
def list_exports(dataset_id: str, principal: PrincipalDep, exports: ExportsDep) -> JSON:
    """The DataSet's exports, with their status."""
    return JSON([export_out(job) for job in exports.for_dataset(principal, dataset_id)])


@router.get("/api/query/v1/export/{dataset_id}/{export_id}")
def get_export(dataset_id: str, export_id: str, principal: PrincipalDep, exports: ExportsDep) -> JSON:
    """One export's progress: status, rows and bytes written, the files and their row counts."""
    return JSON(export_out(exports.get(principal, dataset_id, export_id), detail=True))
