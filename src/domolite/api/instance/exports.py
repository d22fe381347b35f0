"""/api/query/v1/export/{datasetId}: Export to S3 (start, list) and, beyond Domo, one export's progress."""

from __future__ import annotations

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from domolite.api.body import parse_body
from domolite.api.deps import PrincipalDep, ServicesDep
from domolite.api.instance.export_schemas import ExportIn, export_out
from domolite.api.openapi import body_model
from domolite.api.responses import JSON
from domolite.api.routing import Router

router = Router()


@router.post("/api/query/v1/export/{dataset_id}", openapi_extra=body_model(ExportIn))
async def start_export(dataset_id: str, request: Request, principal: PrincipalDep, services: ServicesDep) -> JSON:
    body = await parse_body(request, ExportIn)
    job = await run_in_threadpool(lambda: services.exports.start(principal, dataset_id, body.to_domain()))
    return JSON(export_out(job))


@router.get("/api/query/v1/export/{dataset_id}")
def list_exports(dataset_id: str, principal: PrincipalDep, services: ServicesDep) -> JSON:
    return JSON([export_out(job) for job in services.exports.for_dataset(principal, dataset_id)])


@router.get("/api/query/v1/export/{dataset_id}/{export_id}")
def get_export(dataset_id: str, export_id: str, principal: PrincipalDep, services: ServicesDep) -> JSON:
    return JSON(export_out(services.exports.get(principal, dataset_id, export_id), detail=True))
