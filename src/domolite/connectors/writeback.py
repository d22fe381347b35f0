"""The Amazon S3 Unload Writeback connector (data provider `amazon-s3-unload-writeback`).

A run exports the input DataSet, or one day of it, to the account's bucket through the Export to S3 service,
reading as the user of the account's Domo client (so that user's permissions and PDP apply), and then writes
one row of run metrics into the stream's own DataSet with the stream's update method.
"""

from __future__ import annotations

import csv
import io
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any

from domolite.access import permissions
from domolite.auth.tokens import TokenService
from domolite.catalog import Catalog
from domolite.connectors.accounts import AccountCredentials, Accounts
from domolite.connectors.schedule import Schedule
from domolite.errors import Conflict, DomoError, Forbidden, InvalidField, Unauthorized
from domolite.export.jobs import ExportRequest, Exports
from domolite.models.access import AccessLevel
from domolite.models.exports import ExportJob, ExportState, S3Credentials, time_text
from domolite.models.records import Column, DataSet, DomoType, Principal
from domolite.query.request import ColumnExpr, Compare, Comparison, Logic, OrderBy, QuerySpec, Value

PROVIDER_KEY = "amazon-s3-unload-writeback"
TURN_WAIT_S = 600.0  # how long a run waits for another export of its input DataSet to end
DATE_TYPES = (DomoType.DATE, DomoType.DATETIME)


class DateParse(StrEnum):
    """How the `started` and `finished` metric columns are written."""

    AS_IS = "AS_IS"  # the text the export's status shows, e.g. 2026-11-23T02:00:01.234Z
    DATETIME = "DATETIME"  # parsed into a DATETIME column


# Configuration names, as `configuration[].name` of the stream; values are strings, as Domo sends them.
INPUT_DATASET = "inputDataSetId"
PATH = "path"
PRIMARY_KEY = "primaryKey"
SPECIFIC_DAY = "specificDay"
DATE_COLUMN = "dateColumn"
DATE_PARSE = "dateParseOption"
KNOWN = (INPUT_DATASET, PATH, PRIMARY_KEY, SPECIFIC_DAY, DATE_COLUMN, DATE_PARSE)


@dataclass(frozen=True)
class UnloadConfig:
    input_dataset_id: str
    path: str | None
    primary_key: tuple[str, ...]
    specific_day: int | None  # None: the whole DataSet
    date_column: str | None
    date_parse: DateParse


def parse_config(configuration: Sequence[Mapping[str, Any]]) -> UnloadConfig:
    """The Details pane, from the stream's configuration list. Raises InvalidField naming the entry."""
    values: dict[str, str] = {}
    for i, item in enumerate(configuration):
        name = str(item.get("name") or "")
        if name not in KNOWN:
            raise InvalidField(
                f"configuration[{i}].name", f"unknown setting {name!r}; expected one of {', '.join(KNOWN)}"
            )
        value = item.get("value")
        values[name] = "" if value is None else str(value).strip()
    dataset_id = values.get(INPUT_DATASET, "")
    if not dataset_id:
        raise InvalidField(f"configuration.{INPUT_DATASET}", "the input DataSet ID is required")
    day_text = values.get(SPECIFIC_DAY, "")
    specific_day: int | None = None
    if day_text:
        if not day_text.isdigit():
            raise InvalidField(
                f"configuration.{SPECIFIC_DAY}", f"must be 0 (today), 1 (yesterday) or N days ago, got {day_text!r}"
            )
        specific_day = int(day_text)
    date_column = values.get(DATE_COLUMN) or None  # with Specific Day and no date column: the day's commits
    parse_text = values.get(DATE_PARSE) or DateParse.AS_IS.value
    try:
        date_parse = DateParse(parse_text.upper())
    except ValueError:
        raise InvalidField(f"configuration.{DATE_PARSE}", f"must be AS_IS or DATETIME, got {parse_text!r}") from None
    keys = tuple(k.strip() for k in values.get(PRIMARY_KEY, "").split(",") if k.strip())
    return UnloadConfig(dataset_id, values.get(PATH) or None, keys, specific_day, date_column, date_parse)


def check_input(config: UnloadConfig, dataset: DataSet) -> None:
    """The columns the configuration names exist in the input DataSet, and the date column holds dates."""
    by_name = {c.name.lower(): c for c in dataset.columns}
    for key in config.primary_key:
        if key.lower() not in by_name:
            raise InvalidField(f"configuration.{PRIMARY_KEY}", f"{key!r} is not a column of DataSet {dataset.id}")
    if config.date_column is not None:
        column = by_name.get(config.date_column.lower())
        if column is None:
            raise InvalidField(
                f"configuration.{DATE_COLUMN}", f"{config.date_column!r} is not a column of DataSet {dataset.id}"
            )
        if column.type not in DATE_TYPES:
            raise InvalidField(
                f"configuration.{DATE_COLUMN}", f"{column.name!r} is {column.type.value}; it must be DATE or DATETIME"
            )


def metrics_columns(date_parse: DateParse) -> tuple[Column, ...]:
    """The writeback DataSet's schema: one row per run."""
    when = DomoType.DATETIME if date_parse is DateParse.DATETIME else DomoType.STRING
    return (
        Column("exportId", DomoType.STRING),
        Column("status", DomoType.STRING),
        Column("started", when),
        Column("finished", when),
        Column("rows", DomoType.LONG),
        Column("bytes", DomoType.LONG),
        Column("objectUrls", DomoType.STRING),
        Column("message", DomoType.STRING),
    )


def owner_may_write_back(owner: Principal, input_dataset: DataSet) -> bool:
    """The writeback DataSet's owner must be an owner or co-owner of the input DataSet."""
    return permissions.access_level(owner, input_dataset) in (AccessLevel.OWNER, AccessLevel.CO_OWNER)


def day_query(config: UnloadConfig, dataset: DataSet, schedule: Schedule, now: datetime) -> QuerySpec:
    """The rows to export: all, or the one day `specificDay` days before today in the schedule's timezone;
    ordered by the primary key when there is one. The day's rows are those whose `dateColumn` falls in it, or,
    with no date column, those that the day's commits wrote (see docs/choices.md)."""
    order = tuple(
        OrderBy(ColumnExpr(k, None, None, f"configuration.{PRIMARY_KEY}"), descending=False) for k in config.primary_key
    )
    if config.specific_day is None:
        return QuerySpec(order_by=order)
    day = schedule.today(now) - timedelta(days=config.specific_day)
    if config.date_column is None:
        return QuerySpec(order_by=order, landed=_day_bounds(day, schedule))
    column = next(c for c in dataset.columns if c.name.lower() == config.date_column.lower())
    where = f"configuration.{DATE_COLUMN}"
    expr = ColumnExpr(column.name, None, None, where)
    if column.type is DomoType.DATE:
        return QuerySpec(where=Compare(Comparison.EQUALS, expr, (Value("date", day, where),), where), order_by=order)
    start, end = _day_bounds(day, schedule)
    condition = Logic(
        "AND",
        (
            Compare(Comparison.GREATER_THAN_EQUAL, expr, (Value("date", start, where),), where),
            Compare(Comparison.LESS_THAN, expr, (Value("date", end, where),), where),
        ),
    )
    return QuerySpec(where=condition, order_by=order)


def _day_bounds(day: date, schedule: Schedule) -> tuple[datetime, datetime]:
    """The day's start and the next day's start in the schedule's timezone, as naive UTC (how DATETIME is kept)."""
    zone = schedule.zone
    start = datetime.combine(day, datetime.min.time(), tzinfo=zone).astimezone(UTC).replace(tzinfo=None)
    end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone).astimezone(UTC)
    return start, end.replace(tzinfo=None)


@dataclass(frozen=True)
class RunResult:
    """How a run ended: the export (None if it never started), and the message for the history if it failed."""

    job: ExportJob | None
    error: str | None


def metrics_csv(result: RunResult, date_parse: DateParse, started: datetime, finished: datetime) -> bytes:
    """The run's one metrics row, as CSV in the writeback DataSet's column order."""
    job = result.job
    if job is not None:
        started, finished = job.started_at or job.created_at, job.finished_at or finished

    def when(value: datetime) -> str:
        if date_parse is DateParse.DATETIME:
            return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return time_text(value) or ""

    ok = result.error is None and job is not None and job.state is ExportState.SUCCESS
    message = (
        f"exported {job.rows_written} rows in {len(job.objects)} object(s)"
        if ok and job
        else (result.error or (job.message if job else None) or "the export failed")
    )
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerow(
        [
            job.id if job else "",
            "success" if ok else "error",
            when(started),
            when(finished),
            job.rows_written if job else 0,
            job.bytes_written if job else 0,
            json.dumps([o.url for o in job.objects]) if job else "[]",
            message,
        ]
    )
    return out.getvalue().encode()


class UnloadRunner:
    """Runs one execution of a writeback stream, up to the metrics row (which the caller commits)."""

    def __init__(self, catalog: Catalog, tokens: TokenService, accounts: Accounts, exports: Exports) -> None:
        self.catalog = catalog
        self.tokens = tokens
        self.accounts = accounts
        self.exports = exports

    def owner_principal(self, user_id: int) -> Principal:
        return self.tokens.principal(
            self.catalog.users.get(user_id), frozenset({permissions.DATA_SCOPE}), None, via="server"
        )

    def _reader(self, account: AccountCredentials) -> Principal:
        """The user of the account's Domo client: the export reads with that user's permissions and PDP."""
        try:
            grant = self.tokens.grant(account.domo_client_id, account.domo_client_secret, None)
        except (Unauthorized, DomoError):
            raise Forbidden("the account's Domo client ID and secret were refused") from None
        return self.tokens.principal(grant.user, frozenset(grant.scopes), account.domo_client_id, via="connector")

    def _start_export(
        self, reader: Principal, dataset_id: str, request: ExportRequest, tick: Callable[[], None]
    ) -> ExportJob:
        """Start the run's own export. While another export of the input DataSet runs (one at a time per
        DataSet), wait for it to end, up to TURN_WAIT_S."""
        deadline = time.monotonic() + TURN_WAIT_S
        while True:
            try:
                return self.exports.start(reader, dataset_id, request, reuse=False)
            except Conflict:
                if time.monotonic() > deadline:
                    raise
                tick()
                time.sleep(0.2)

    def run(
        self,
        writeback: DataSet,
        configuration: Sequence[Mapping[str, Any]],
        account_id: int | None,
        schedule: Schedule,
        on_export: Callable[[str], None],
        tick: Callable[[], None],
    ) -> RunResult:
        """Export and wait. Every refusal (configuration, account, ownership, S3) becomes the result's error."""
        try:
            config = parse_config(configuration)
            if account_id is None:
                raise InvalidField("account.id", "the stream needs an account with the S3 and Domo credentials")
            account = self.accounts.credentials(account_id)
            input_dataset = self.catalog.datasets.get(config.input_dataset_id)
            if not owner_may_write_back(self.owner_principal(writeback.owner_id), input_dataset):
                raise Forbidden(
                    f"the owner of the writeback DataSet {writeback.id} is not an owner or co-owner "
                    f"of the input DataSet {input_dataset.id}"
                )
            check_input(config, input_dataset)
            request = ExportRequest(
                bucket=account.bucket,
                region=account.region,
                path=config.path,
                credentials=S3Credentials(account.access_key, account.secret_key),
                query=day_query(config, input_dataset, schedule, datetime.now(UTC)),
                endpoint_url=account.endpoint_url,
                path_style=account.endpoint_url is not None,
            )
            job = self._start_export(self._reader(account), input_dataset.id, request, tick)
            on_export(job.id)
            job = self.exports.wait(input_dataset.id, job.id, tick)
        except DomoError as exc:
            return RunResult(None, exc.message)
        if job.state is not ExportState.SUCCESS:
            reason = f"{job.error_code}: {job.message}" if job.error_code else (job.message or "the export failed")
            return RunResult(job, f"the export to S3 failed: {reason}")
        return RunResult(job, None)
