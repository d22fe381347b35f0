"""Accounts (connector credentials; secrets are never shown back) and the Amazon S3 Unload Writeback connector:
its page with the seed's panes (Credentials, Details, Scheduling, Name & Describe Your DataSet), run now and run
history. The forms are read with the API's own request models, so a page and a client get the same checks."""

from __future__ import annotations

import json
from typing import Any

from fastapi import Request
from starlette.responses import Response

from domolite.api.deps import AccountsDep, ConnectorsDep, DataSetsDep
from domolite.api.instance.schemas import StreamIn, history_out
from domolite.api.public.schemas import IdPath
from domolite.connectors.accounts import S3_UNLOAD_WRITEBACK, AccountSpec
from domolite.connectors.streams import ConnectorSpec, ConnectorStream
from domolite.errors import InvalidField
from domolite.models.records import Principal, UpdateMethod
from domolite.web.render import page, redirect
from domolite.web.routing import web_router
from domolite.web.session import FormDep, UserDep, whole

router = web_router()
PROVIDER = S3_UNLOAD_WRITEBACK.key
REGIONS = [
    "us-east-1", "us-east-2", "us-west-1", "us-west-2", "ca-central-1", "sa-east-1", "eu-west-1", "eu-west-2",
    "eu-west-3", "eu-central-1", "eu-north-1", "ap-south-1", "ap-southeast-1", "ap-southeast-2", "ap-northeast-1",
    "ap-northeast-2",
]  # fmt: skip
SCHEDULE_TYPES = [("MANUAL", "Manually"), ("MINUTE", "Every N minutes"), ("HOUR", "Every N hours")]
SCHEDULE_TYPES += [("DAY", "Every N days"), ("WEEK", "Every N weeks"), ("MONTH", "Every N months")]
WEEKDAYS = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"]
# The Credentials pane's fields, as the seed names them, with the account configuration key of each.
CREDENTIALS = [
    ("domoClientId", "Domo Client ID", False),
    ("domoClientSecret", "Domo Client Secret", True),
    ("accessKey", "Access Key", True),
    ("secretKey", "Secret Key", True),
    ("bucket", "Bucket", False),
]


def _account_spec(form: dict[str, str], *, editing: bool) -> AccountSpec:
    """Secrets left empty on an edit keep their value; the other fields are sent as typed."""
    keys = [k for k, _label, _secret in CREDENTIALS] + ["region", "endpointUrl"]
    configuration: dict[str, Any] = {}
    for key in keys:
        value = form.get(key, "").strip()
        if value or (not editing and key != "endpointUrl"):
            configuration[key] = value
        elif editing and key == "endpointUrl":
            configuration[key] = None  # cleared
    return AccountSpec(
        display_name=form.get("displayName", "").strip() or None, provider_key=PROVIDER, configuration=configuration
    )


@router.get("/accounts")
def accounts(request: Request, principal: UserDep, accounts: AccountsDep, edit: str = "") -> Response:
    found = accounts.list(principal, limit=500, offset=0)
    editing = next((a for a in found if str(a.id) == edit), None)
    return page(request, "accounts.html", accounts=found, editing=editing, credentials=CREDENTIALS, regions=REGIONS)


@router.post("/accounts")
def save_account(principal: UserDep, accounts: AccountsDep, form: FormDep) -> Response:
    account_id = whole(form.get("account", ""))
    if account_id is not None:
        account = accounts.update(principal, account_id, _account_spec(form, editing=True))
        return redirect("/accounts", notice=f"Account {account.display_name!r} saved.")
    account = accounts.create(principal, _account_spec(form, editing=False))
    return redirect("/accounts", notice=f"Account {account.display_name!r} created.")


@router.post("/accounts/delete")
def delete_account(principal: UserDep, accounts: AccountsDep, form: FormDep) -> Response:
    account_id = whole(form.get("account", ""))
    if account_id is None:
        raise InvalidField("account", "choose an account")
    accounts.delete(principal, account_id)
    return redirect("/accounts", notice="Account deleted.")


# -- connectors ------------------------------------------------------------------------------------------------


def schedule_label(found: ConnectorStream) -> str:
    """ "MANUAL", or e.g. "DAY every 1, 2 retries", from the connector's schedule."""
    try:
        raw = json.loads(found.connector.schedule or "{}") if found.connector else {}
    except ValueError:
        raw = {}
    every = str(raw.get("type") or "MANUAL") if isinstance(raw, dict) else "MANUAL"
    if every != "MANUAL":
        every += f" every {raw.get('interval', 1)}"
    retries = found.schedule.retry_count if found.schedule else 0
    return every + (f", {retries} retries" if retries else "")


@router.get("/connectors")
def connectors(request: Request, principal: UserDep, connectors: ConnectorsDep) -> Response:
    found = [c for c in connectors.list(principal, limit=500, offset=0) if c.connector]
    return page(request, "connectors.html", connectors=found, schedule_label=schedule_label)


# What the form shows before anything is typed (a new connector), by field name.
FORM_DEFAULTS = {
    "account": "",
    "inputDataSetId": "",
    "path": "",
    "primaryKey": "",
    "specificDay": "",
    "dateColumn": "",
    "dateParseOption": "AS_IS",
    "scheduleType": "MANUAL",
    "interval": "1",
    "time": "02:00",
    "dayOfWeek": "MONDAY",
    "dayOfMonth": "1",
    "timezone": "UTC",
    "retryCount": "0",
    "updateMethod": "APPEND",
    "name": "",
    "description": "",
}
DETAILS = ("inputDataSetId", "path", "primaryKey", "specificDay", "dateColumn", "dateParseOption")


def _form_page(
    request: Request, principal: Principal, accounts: AccountsDep, values: dict[str, str], editing: int | None
) -> Response:
    return page(
        request,
        "connector_form.html",
        accounts=[a for a in accounts.list(principal, limit=500, offset=0) if a.provider_key == PROVIDER],
        credentials=CREDENTIALS,
        regions=REGIONS,
        schedule_types=SCHEDULE_TYPES,
        weekdays=WEEKDAYS,
        values=values,
        editing=editing,
    )


@router.get("/connectors/new")
def new_connector(request: Request, principal: UserDep, accounts: AccountsDep) -> Response:
    return _form_page(request, principal, accounts, dict(FORM_DEFAULTS), None)


def _or(number: int | None, default: int) -> int:
    return default if number is None else number


def _schedule(form: dict[str, str]) -> dict[str, Any]:
    every = form.get("scheduleType", "MANUAL")
    out: dict[str, Any] = {"type": every, "timezone": form.get("timezone", "UTC").strip() or "UTC"}
    if every != "MANUAL":
        out["interval"] = _or(whole(form.get("interval")), 1)
    if every in ("DAY", "WEEK", "MONTH"):
        out["time"] = form.get("time", "") or "00:00"
    if every == "WEEK":
        out["dayOfWeek"] = form.get("dayOfWeek", "MONDAY")
    if every == "MONTH":
        out["dayOfMonth"] = _or(whole(form.get("dayOfMonth")), 1)
    return out


def _connector_account(principal: Principal, accounts: AccountsDep, form: dict[str, str]) -> int:
    """The Credentials pane: an account from the Accounts tab, or new credentials (kept as a new account)."""
    chosen = whole(form.get("account", ""))
    if chosen is not None:
        return chosen
    spec = _account_spec(form, editing=False)
    if not spec.display_name:
        spec = AccountSpec(
            display_name=f"Amazon S3 {form.get('bucket', '').strip()}",
            provider_key=PROVIDER,
            configuration=spec.configuration,
        )
    return accounts.create(principal, spec).id


def _stream_body(form: dict[str, str]) -> StreamIn:
    """The panes as the API's request model: the same limits on names, retries and schedule."""
    config = {key: form.get(key, "").strip() for key in DETAILS}
    config["dateParseOption"] = config["dateParseOption"] or "AS_IS"
    retries = form.get("retryCount", "0")
    return StreamIn.model_validate(
        {
            "transport": {"type": "CONNECTOR", "description": "com.domo.connector.s3unloadwriteback", "version": "1"},
            "configuration": [{"name": k, "value": v} for k, v in config.items() if v != ""],
            "dataProvider": {"key": PROVIDER},
            "dataSource": {"name": form.get("name", ""), "description": form.get("description", "")},
            "advancedScheduleJson": json.dumps(_schedule(form)),
            "scheduleRetryCount": _or(whole(retries), 0),
            "updateMethod": form.get("updateMethod", "APPEND"),
        }
    )


def _connector_spec(body: StreamIn, account_id: int) -> ConnectorSpec:
    return ConnectorSpec(
        provider_key=PROVIDER,
        transport=body.transport.model_dump(),
        configuration=body.configuration,
        account={"id": account_id},
        schedule=body.schedule(),
        retry_count=body.schedule_retry_count,
    )


@router.post("/connectors/new")
def create_connector(
    request: Request, principal: UserDep, connectors: ConnectorsDep, form: FormDep, accounts: AccountsDep
) -> Response:
    body = _stream_body(form)
    spec = _connector_spec(body, _connector_account(principal, accounts, form))
    found = connectors.create(
        principal,
        spec,
        name=body.data_source.name or "",
        description=body.data_source.description or "",
        update_method=UpdateMethod.parse(body.update_method or "APPEND"),
    )
    return redirect(f"/connectors/{found.stream.id}", notice="Connector created.")


def _form_values(found: ConnectorStream) -> dict[str, str]:
    """The form's fields as the connector has them now (secrets live in its account and are never shown)."""
    values = dict(FORM_DEFAULTS)
    connector = found.connector
    if connector is not None:
        for item in connector.configuration:
            if str(item.get("name")) in DETAILS and item.get("value") is not None:
                values[str(item["name"])] = str(item["value"])
        try:
            raw = json.loads(connector.schedule or "{}")
        except ValueError:
            raw = {}
        if isinstance(raw, dict):
            keys = {"type": "scheduleType", "interval": "interval", "time": "time", "dayOfWeek": "dayOfWeek"}
            keys |= {"dayOfMonth": "dayOfMonth", "timezone": "timezone"}
            values |= {field: str(raw[key]) for key, field in keys.items() if raw.get(key) is not None}
    values["account"] = str(found.account.id) if found.account else ""
    values["retryCount"] = str(found.schedule.retry_count if found.schedule else 0)
    values["updateMethod"] = found.stream.update_method.value
    values["name"], values["description"] = found.dataset.name, found.dataset.description or ""
    return values


@router.get("/connectors/{stream_id}/edit")
def edit_connector(
    request: Request, stream_id: IdPath, principal: UserDep, connectors: ConnectorsDep, accounts: AccountsDep
) -> Response:
    found = connectors.get(principal, stream_id)
    return _form_page(request, principal, accounts, _form_values(found), stream_id)


@router.post("/connectors/{stream_id}/edit")
def save_connector(
    stream_id: IdPath, principal: UserDep, connectors: ConnectorsDep, form: FormDep, accounts: AccountsDep
) -> Response:
    """The same update as PUT /api/data/v1/streams/{id}: the panes replace the connector's configuration,
    account and schedule, and the DataSet's name, description and update method."""
    body = _stream_body(form)
    spec = _connector_spec(body, _connector_account(principal, accounts, form))
    connectors.update(
        principal,
        stream_id,
        spec,
        name=body.data_source.name,
        description=body.data_source.description,
        update_method=UpdateMethod.parse(body.update_method or "APPEND"),
    )
    return redirect(f"/connectors/{stream_id}", notice="Connector saved.")


@router.get("/connectors/{stream_id}")
def connector(
    request: Request, stream_id: IdPath, principal: UserDep, connectors: ConnectorsDep, datasets: DataSetsDep
) -> Response:
    found = connectors.get(principal, stream_id)
    hidden = datasets.counts_hidden(principal, found.dataset)
    runs = [history_out(r.execution, stream_id, r.info, hidden) for r in connectors.history(principal, stream_id)]
    config = {str(c.get("name")): c.get("value") for c in (found.connector.configuration if found.connector else [])}
    return page(request, "connector.html", found=found, runs=runs, config=config, schedule=schedule_label(found))


@router.post("/connectors/{stream_id}/run")
def run_connector(stream_id: IdPath, principal: UserDep, connectors: ConnectorsDep, form: FormDep) -> Response:
    run = connectors.run(principal, stream_id)
    return redirect(f"/connectors/{stream_id}", notice=f"Run {run.execution.id} started.")
