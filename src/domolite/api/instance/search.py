"""/api/search/v1/query: DataSet search (Domo's Data Center search), paged by count and offset."""

from __future__ import annotations

from typing import Annotated

from domolite.api.body import body_of
from domolite.api.deps import DataSetsDep, PrincipalDep
from domolite.api.instance.schemas import SearchIn, search_object_out
from domolite.api.openapi import body_model
from domolite.api.responses import JSON
from domolite.api.routing import Router
from domolite.datasets.service import SearchFilter
from domolite.errors import InvalidField

router = Router()


@router.post("/api/search/v1/query", openapi_extra=body_model(SearchIn))
def search(
    principal: PrincipalDep,
    body: Annotated[SearchIn, body_of(SearchIn)],
    datasets: DataSetsDep,
) -> JSON:
    """Search the DataSets the caller may read (Domo's Data Center search): by name, with term and
    wildcard filters, a page at a time (count, offset), with the total."""
    entities = {e.upper() for e in body.entities}
    if entities - {"DATASET", "DATASOURCE"}:
        raise InvalidField("entities", f"only DATASET can be searched, not {sorted(entities - {'DATASET'})}")
    filters = []
    for i, f in enumerate(body.filters):
        value = f.query if f.query is not None else f.value
        if value is None:
            raise InvalidField(f"filters[{i}]", "a filter needs a query or a value")
        filters.append(SearchFilter(field=f.field, kind=f.filter_type.lower(), value=str(value), negate=f.not_))

    found, total = datasets.search(principal, text=body.query, filters=filters, count=body.count, offset=body.offset)
    return JSON(
        {
            "searchObjects": [search_object_out(v.dataset, v.owner) for v in datasets.views(principal, found)],
            "totalResultCount": total,
            "count": len(found),
            "offset": body.offset,
        }
    )
