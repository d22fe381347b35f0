"""/api/search/v1/query: DataSet search (Domo's Data Center search), paged by count and offset."""

from __future__ import annotations

from typing import Annotated

from domolite.api.body import body_of
from domolite.api.deps import DataCenterDep, DataSetsDep, PrincipalDep
from domolite.api.instance.schemas import SearchIn, search_object_out
from domolite.api.openapi import body_model
from domolite.api.responses import JSON
from domolite.api.routing import Router
from domolite.datasets.datacenter import SearchFilter
from domolite.errors import InvalidField
from domolite.models.records import User

router = Router()


@router.post("/api/search/v1/query", openapi_extra=body_model(SearchIn))
def search(
    principal: PrincipalDep,
    body: Annotated[SearchIn, body_of(SearchIn)],
    datacenter: DataCenterDep,
    datasets: DataSetsDep,
) -> JSON:
    entities = {e.upper() for e in body.entities}
    if entities - {"DATASET", "DATASOURCE"}:
        raise InvalidField("entities", f"only DATASET can be searched, not {sorted(entities - {'DATASET'})}")
    filters = []
    for i, f in enumerate(body.filters):
        value = f.query if f.query is not None else f.value
        if value is None:
            raise InvalidField(f"filters[{i}]", "a filter needs a query or a value")
        filters.append(SearchFilter(field=f.field, kind=f.filter_type.lower(), value=str(value), negate=f.not_))

    def run() -> dict[str, object]:
        found, total = datacenter.search(
            principal, text=body.query, filters=filters, count=body.count, offset=body.offset
        )
        owners: dict[int, User | None] = {}
        for d in found:
            if d.owner_id not in owners:
                owners[d.owner_id] = datasets.owner(d)
        return {
            "searchObjects": [search_object_out(datasets.seen_by(principal, d), owners[d.owner_id]) for d in found],
            "totalResultCount": total,
            "count": len(found),
            "offset": body.offset,
        }

    return JSON(run())
