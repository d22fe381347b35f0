"""The walking skeleton: a DataSet created over HTTP can be loaded and read back."""

from __future__ import annotations

import httpx


def test_create_import_and_export_a_dataset(api: httpx.Client) -> None:
    created = api.post(
        "/v1/datasets",
        json={
            "name": "smoke",
            "schema": {"columns": [{"type": "LONG", "name": "n"}, {"type": "STRING", "name": "s"}]},
        },
    )
    assert created.status_code == 201
    ds = created.json()["id"]
    assert (
        api.put(f"/v1/datasets/{ds}/data", content=b"1,a\n2,b\n", headers={"Content-Type": "text/csv"}).status_code
        == 204
    )
    out = api.get(f"/v1/datasets/{ds}/data", params={"includeHeader": "true"})
    assert out.status_code == 200
    assert out.text == "n,s\n1,a\n2,b\n"
