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


def test_a_reader_sees_their_own_exports_only_in_the_list_and_by_id(
    server: Server, api: httpx.Client, s3_url: str, bucket: str
) -> None:
    # Another user's export says where that user's rows went and how many: PDP may hide them from this reader.
    owner = make_person(server, api, "Privileged", "listowner")
    west = make_person(server, api, "Participant", "listreader")
    ds = make_dataset(owner.http, [("Region", "STRING"), ("Sales", "LONG")], "whose exports", csv=CSV)["id"]
    assert share(owner.http, ds, "USER", west.id, "READ").status_code == 200
    assert equals_policy(owner.http, ds, "West", "Region", "West", west.id).status_code == 201
    assert owner.http.put(f"/v1/datasets/{ds}", json={"pdpEnabled": True}).status_code == 200
    theirs = owner.http.post(f"/api/query/v1/export/{ds}", json=body(bucket, s3_url, path="owners")).json()
    assert wait_export(owner.http, ds, theirs["exportId"])["exportStatus"] == "success"
    mine = west.http.post(f"/api/query/v1/export/{ds}", json=body(bucket, s3_url, path="readers")).json()
    assert wait_export(west.http, ds, mine["exportId"])["exportStatus"] == "success"

    assert [j["exportId"] for j in west.http.get(f"/api/query/v1/export/{ds}").json()] == [mine["exportId"]]
    assert west.http.get(f"/api/query/v1/export/{ds}/{mine['exportId']}").status_code == 200
    hidden = west.http.get(f"/api/query/v1/export/{ds}/{theirs['exportId']}")
    assert hidden.status_code == 404 and "not found" in hidden.json()["message"]  # was the owner's, counts and all
    seen = {j["exportId"] for j in owner.http.get(f"/api/query/v1/export/{ds}").json()}
    assert seen == {mine["exportId"], theirs["exportId"]}  # the owner sees every export


def test_a_where_that_cannot_bind_is_a_400_before_any_job(
    server: Server, api: httpx.Client, s3_url: str, bucket: str
) -> None:
    columns = [("Region", "STRING"), ("Sales", "LONG"), ("Day", "DATE")]
    ds = make_dataset(api, columns, "binds", csv="West,1,2024-01-01\n")["id"]
    column = {"column": "Sales", "exprType": "COLUMN"}
    later = {
        "exprType": "GREATER_THAN",
        "leftExpr": column,
        "rightExpr": {"exprType": "DATE_VALUE", "value": "2024-01-01"},
    }
    ungrouped = {"columns": [{"column": "Day", "exprType": "COLUMN"}, {"column": "Sales", "exprType": "SUM"}],
                 "orderByColumns": [{"column": "Region", "order": "ASC"}]}  # fmt: skip
    for query in ({"where": later}, ungrouped):
        r = api.post(f"/api/query/v1/export/{ds}", json=body(bucket, s3_url, query))
        assert r.status_code == 400 and r.json()["message"].startswith("queryRequest.query:"), r.text
    assert api.get(f"/api/query/v1/export/{ds}").json() == []  # no job was started
