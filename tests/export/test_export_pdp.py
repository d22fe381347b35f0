"""PDP applies to the requesting user: the export reads through the door (`Door.source_sql`) with the caller
as principal. Row policies have no HTTP API yet, so this test plugs a row filter into the door in process and
drives the export service against the real S3 server."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from domolite.app import build_services
from domolite.export.jobs import ExportRequest
from domolite.export.model import ExportState, S3Credentials
from domolite.models import Column, DataSet, DomoType, Principal, Role, UpdateMethod
from domolite.settings import Settings
from tests.export.conftest import KEYS, parse_csv, read_object


def test_a_pdp_user_exports_only_their_rows(tmp_path: Path, s3: Any, s3_url: str, bucket: str) -> None:
    services = build_services(Settings(data_dir=tmp_path / "data"))
    try:
        admin = Principal(
            services.catalog.create_user("a@x.test", "A", Role.ADMIN, None), frozenset({"data"})
        )
        west = Principal(
            services.catalog.create_user("w@x.test", "W", Role.PARTICIPANT, None), frozenset({"data"})
        )

        def only_west_for_participants(dataset: DataSet, principal: Principal) -> str | None:
            return None if principal.is_admin else "\"Region\" = 'West'"

        services.door.pdp_filter = only_west_for_participants
        columns = (Column("Region", DomoType.STRING), Column("Sales", DomoType.LONG))
        dataset, _ = services.datasets.create(admin, name="pdp", description="", columns=columns)
        staged = tmp_path / "import" / "rows.csv"
        staged.parent.mkdir()
        staged.write_text("West,1\nEast,2\nWest,3\nSouth,4\n")
        services.ingest.apply_import(dataset, staged, UpdateMethod.REPLACE)
        dataset = services.catalog.get_dataset(dataset.id)

        def export(principal: Principal, path: str) -> list[list[str]]:
            request = ExportRequest(
                bucket=bucket,
                region="us-east-1",
                path=path,
                credentials=S3Credentials(KEYS["awsAccessKey"], KEYS["awsAccessSecret"]),
                endpoint_url=s3_url,
                path_style=True,
            )
            job = services.exports.start(principal, dataset.id, request)
            deadline = time.monotonic() + 30
            while job.state not in (ExportState.SUCCESS, ExportState.ERROR) and time.monotonic() < deadline:
                time.sleep(0.05)
                job = services.exports.get(principal, dataset.id, job.id)
            assert job.state is ExportState.SUCCESS, job.message
            (obj,) = job.objects
            header, rows = parse_csv(read_object(s3, obj.url))
            assert header == ["Region", "Sales"] and obj.rows == len(rows)
            return rows

        assert export(west, "west") == [["West", "1"], ["West", "3"]]
        # Same request, same data, different rows for another user: no reuse of the restricted export.
        assert export(admin, "west") == [["West", "1"], ["East", "2"], ["West", "3"], ["South", "4"]]
    finally:
        services.exports.close()
        services.door.close()
        services.lake.close()
        services.catalog.close()
