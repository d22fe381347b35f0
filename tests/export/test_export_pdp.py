"""PDP applies to the requesting user: an Export to S3 reads through the same door as queries, so a user with a
row policy finds only their rows in the bucket, and the owner finds all of them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.people import equals_policy, make_person, share
from tests.export.conftest import body, parse_csv, read_object
from tests.helpers import make_dataset, wait_export
from tests.serverproc import Server

CSV = "West,1\nEast,2\nWest,3\nSouth,4\n"


def test_a_pdp_user_exports_only_their_rows(
    server: Server, api: httpx.Client, s3: Any, s3_url: str, bucket: str
) -> None:
    owner = make_person(server, api, "Privileged", "exportowner")
    west = make_person(server, api, "Participant", "westonly")
    ds = make_dataset(owner.http, [("Region", "STRING"), ("Sales", "LONG")], "pdp export", csv=CSV)["id"]
    assert share(owner.http, ds, "USER", west.id, "READ").status_code == 200
    policy = equals_policy(owner.http, ds, "West", "Region", "West", west.id)
    assert policy.status_code == 201, policy.text
    assert owner.http.put(f"/v1/datasets/{ds}", json={"pdpEnabled": True}).status_code == 200

    def export(who: httpx.Client) -> list[list[str]]:
        started = who.post(f"/api/query/v1/export/{ds}", json=body(bucket, s3_url, path="pdp"))
        assert started.status_code == 200, started.text
        job = wait_export(who, ds, started.json()["exportId"])
        assert job["exportStatus"] == "success", job
        (url,) = job["urlRowCountMap"]
        header, rows = parse_csv(read_object(s3, url))
        assert header == ["Region", "Sales"] and job["urlRowCountMap"][url] == len(rows)
        return sorted(rows)

    assert export(west.http) == [["West", "1"], ["West", "3"]]
    # The same request and data from the owner (who bypasses PDP) is not answered with the restricted export.
    assert export(owner.http) == [["East", "2"], ["South", "4"], ["West", "1"], ["West", "3"]]
