"""PDP policies: the public form (/v1/datasets/{id}/policies) and the product form
(/api/query/v1/data-control/{id}/filter-groups), plus the PDP switch."""

from __future__ import annotations

from typing import Annotated

from starlette.responses import Response

from domolite.api.body import body_of
from domolite.api.deps import PoliciesDep, PrincipalDep
from domolite.api.openapi import body_model
from domolite.api.public.access_schemas import (
    FilterGroupIn,
    PdpSwitchIn,
    PolicyIn,
    filter_group_out,
    pdp_switch_out,
    policy_out,
)
from domolite.api.public.schemas import IdPath
from domolite.api.responses import JSON
from domolite.api.routing import Router

router = Router()
V1 = "/v1/datasets/{dataset_id}/policies"
PRODUCT = "/api/query/v1/data-control/{dataset_id}"


# -- /v1 ----------------------------------------------------------------------------------------------------
@router.get(V1)
def list_policies(dataset_id: str, principal: PrincipalDep, policies: PoliciesDep) -> JSON:
    """The DataSet's PDP policies: each one's filters (column, operator, values) and the users and groups
    it applies to; the open policy (All Rows) too."""
    return JSON([policy_out(p) for p in policies.list(principal, dataset_id)])


@router.post(V1, status_code=201, openapi_extra=body_model(PolicyIn))
def create_policy(
    dataset_id: str, principal: PrincipalDep, body: Annotated[PolicyIn, body_of(PolicyIn)], policies: PoliciesDep
) -> JSON:
    """Create a PDP policy on the DataSet: its name, filters, users and groups. The rows a filtered user
    sees are those of the policies that name them."""
    policy = policies.create(principal, dataset_id, body.spec())
    return JSON(policy_out(policy), status_code=201)


@router.get(V1 + "/{policy_id}")
def get_policy(dataset_id: str, policy_id: IdPath, principal: PrincipalDep, policies: PoliciesDep) -> JSON:
    """One PDP policy of the DataSet."""
    return JSON(policy_out(policies.get(principal, dataset_id, policy_id)))


@router.put(V1 + "/{policy_id}", openapi_extra=body_model(PolicyIn))
def update_policy(
    dataset_id: str,
    policy_id: IdPath,
    principal: PrincipalDep,
    body: Annotated[PolicyIn, body_of(PolicyIn)],
    policies: PoliciesDep,
) -> JSON:
    """Change a PDP policy's name, filters, users or groups; what is left out stays."""
    policy = policies.update(principal, dataset_id, policy_id, body.spec())
    return JSON(policy_out(policy))


@router.delete(V1 + "/{policy_id}", status_code=204)
def delete_policy(dataset_id: str, policy_id: IdPath, principal: PrincipalDep, policies: PoliciesDep) -> Response:
    """Delete a PDP policy of the DataSet."""
    policies.delete(principal, dataset_id, policy_id)
    return Response(status_code=204)


# -- product form -------------------------------------------------------------------------------------------
@router.get(PRODUCT + "/filter-groups")
def list_filter_groups(dataset_id: str, principal: PrincipalDep, policies: PoliciesDep, options: str = "") -> JSON:
    """The DataSet's PDP policies in the instance API's form (filter groups: parameters, userIds,
    groupIds), in order; every option (associations, filters, the open policy) is always included."""
    del options  # load_associations, load_filters, include_open_policy: all always included
    found = policies.list(principal, dataset_id)
    return JSON([filter_group_out(p, i) for i, p in enumerate(found)])


@router.post(PRODUCT + "/filter-groups", openapi_extra=body_model(FilterGroupIn))
def create_filter_group(
    dataset_id: str,
    principal: PrincipalDep,
    body: Annotated[FilterGroupIn, body_of(FilterGroupIn)],
    policies: PoliciesDep,
) -> JSON:
    """Create a PDP policy (filter group) on the DataSet: its name, parameters (column filters), userIds
    and groupIds."""
    policy = policies.create(principal, dataset_id, body.spec())
    return JSON(filter_group_out(policy, 0))


@router.get(PRODUCT + "/filter-groups/{policy_id}")
def get_filter_group(dataset_id: str, policy_id: IdPath, principal: PrincipalDep, policies: PoliciesDep) -> JSON:
    """One PDP policy (filter group) of the DataSet."""
    return JSON(filter_group_out(policies.get(principal, dataset_id, policy_id), 0))


@router.put(PRODUCT + "/filter-groups/{policy_id}", openapi_extra=body_model(FilterGroupIn))
def update_filter_group(
    dataset_id: str,
    policy_id: IdPath,
    principal: PrincipalDep,
    body: Annotated[FilterGroupIn, body_of(FilterGroupIn)],
    policies: PoliciesDep,
) -> JSON:
    """Change a PDP policy (filter group); what is left out stays."""
    policy = policies.update(principal, dataset_id, policy_id, body.spec())
    return JSON(filter_group_out(policy, 0))


@router.delete(PRODUCT + "/filter-groups/{policy_id}")
def delete_filter_group(dataset_id: str, policy_id: IdPath, principal: PrincipalDep, policies: PoliciesDep) -> JSON:
    """Delete a PDP policy (filter group) of the DataSet."""
    policies.delete(principal, dataset_id, policy_id)
    return JSON({})


@router.get(PRODUCT)
def get_pdp_switch(dataset_id: str, principal: PrincipalDep, policies: PoliciesDep) -> JSON:
    """Whether PDP is enabled on the DataSet: when it is, its policies filter the rows people see."""
    return JSON(pdp_switch_out(policies.enabled(principal, dataset_id)))


@router.put(PRODUCT, openapi_extra=body_model(PdpSwitchIn))
def set_pdp_switch(
    dataset_id: str, principal: PrincipalDep, body: Annotated[PdpSwitchIn, body_of(PdpSwitchIn)], policies: PoliciesDep
) -> JSON:
    """Turn PDP on or off for the DataSet."""
    dataset = policies.set_enabled(principal, dataset_id, body.enabled)
    return JSON(pdp_switch_out(dataset.pdp_enabled))
