"""domolibrary 4.5.28, unchanged, against the instance API. Its URLs are fixed to
https://{instance}.domo.com, so
httpx's two default transports are patched (for this module only) to send *.domo.com to the test server; the
Host header stays `acme.domo.com`."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import httpx
import pandas as pd
import pytest

from tests.serverproc import ADMIN_PASSWORD, Server

T = TypeVar("T")
INSTANCE = "acme"


@pytest.fixture(scope="module")
def local_domo(server: Server) -> Iterator[None]:
    target = httpx.URL(server.url)
    sync_send = httpx.HTTPTransport.handle_request
    async_send = httpx.AsyncHTTPTransport.handle_async_request

    def rewrite(request: httpx.Request) -> httpx.Request:
        host = request.url.host or ""
        if host == "domo.com" or host.endswith(".domo.com"):
            request.url = request.url.copy_with(scheme=target.scheme, host=target.host, port=target.port)
        elif not (host == target.host and request.url.port == target.port):
            raise RuntimeError(f"refusing a non-local request to {request.url}")
        return request

    def handle(self: httpx.HTTPTransport, request: httpx.Request) -> httpx.Response:
        return sync_send(self, rewrite(request))

    async def handle_async(self: httpx.AsyncHTTPTransport, request: httpx.Request) -> httpx.Response:
        return await async_send(self, rewrite(request))

    httpx.HTTPTransport.handle_request = handle  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = handle_async  # type: ignore[method-assign]
    try:
        yield
    finally:
        httpx.HTTPTransport.handle_request = sync_send  # type: ignore[method-assign]
        httpx.AsyncHTTPTransport.handle_async_request = async_send  # type: ignore[method-assign]


def run(coro: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(coro)


@pytest.fixture(scope="module")
def full_auth(local_domo: None) -> Any:
    from domolibrary.client.DomoAuth import DomoFullAuth

    auth = DomoFullAuth(domo_instance=INSTANCE, domo_username="admin@domolite.local", domo_password=ADMIN_PASSWORD)
    run(auth.get_auth_token())
    return auth


@pytest.fixture(scope="module")
def token_auth(local_domo: None, server: Server) -> Any:
    from domolibrary.client.DomoAuth import DomoTokenAuth

    return DomoTokenAuth(domo_access_token=server.dev_token, domo_instance=INSTANCE)


def query(auth: Any, ds: str, sql: str, **kw: Any) -> list[dict[str, Any]]:
    import domolibrary.routes.dataset as dataset

    res = run(asyncio.wait_for(dataset.query_dataset_private(auth=auth, dataset_id=ds, sql=sql, **kw), timeout=60))
    return list(res.response)


def upload(auth: Any, ds: str, df: pd.DataFrame, method: str = "REPLACE", tag: str | None = None) -> None:
    import domolibrary.routes.dataset as dataset

    async def go() -> None:
        stage1 = await dataset.upload_dataset_stage_1(auth=auth, dataset_id=ds, partition_tag=tag)
        upload_id = stage1.response
        await dataset.upload_dataset_stage_2_df(auth=auth, dataset_id=ds, upload_id=upload_id, upload_df=df)
        await dataset.upload_dataset_stage_3(
            auth=auth,
            dataset_id=ds,
            upload_id=upload_id,
            update_method=method,
            partition_tag=tag,
            is_index=True,
        )

    run(go())


def test_login_who_am_i_and_a_bad_password(full_auth: Any, server: Server) -> None:
    from domolibrary.client.DomoAuth import DomoFullAuth
    from domolibrary.routes import auth as auth_routes

    assert full_auth.token
    me = run(auth_routes.who_am_i(auth=full_auth))
    assert me.response["emailAddress"] == "admin@domolite.local" and me.response["id"] == 1
    wrong = DomoFullAuth(domo_instance=INSTANCE, domo_username="admin@domolite.local", domo_password="wrong")
    with pytest.raises(Exception, match="(?i)invalid|credential"):
        run(wrong.get_auth_token())


def test_create_metadata_upload_query_partitions_schema_tags_index_delete(full_auth: Any) -> None:
    import domolibrary.routes.dataset as dataset

    schema = {"columns": [{"type": "STRING", "name": "Friend"}, {"type": "LONG", "name": "Age"}]}
    created = run(dataset.create(auth=full_auth, dataset_name="domolibrary e2e", dataset_type="api", schema=schema))
    ds = created.response["dataSource"]["dataSourceId"]
    meta = run(dataset.get_dataset_by_id(dataset_id=ds, auth=full_auth)).response
    assert meta["id"] == ds and int(meta["rowCount"]) == 0 and int(meta["columnCount"]) == 2

    # REPLACE, then APPEND, then query paging through the library's own loop (3 pages of 2 rows, then empty)
    upload(full_auth, ds, pd.DataFrame({"Friend": ["Ann", "Bob"], "Age": [31, 42]}), "REPLACE")
    upload(full_auth, ds, pd.DataFrame({"Friend": ["Cy", "Di", "Ed"], "Age": [1, 2, 3]}), "APPEND")
    got = query(full_auth, ds, "SELECT * FROM table ORDER BY Age", loop_until_end=True, limit=2, maximum=100)
    assert [(r["Friend"], r["Age"]) for r in got] == [
        ("Cy", 1),
        ("Di", 2),
        ("Ed", 3),
        ("Ann", 31),
        ("Bob", 42),
    ]
    assert query(full_auth, ds, "SELECT * from table limit 1") == [{"Friend": "Ann", "Age": 31}]

    # partitions: two tags, restate one, list, delete one (data, then the tag), as the class flow does
    upload(full_auth, ds, pd.DataFrame({"Friend": ["P1"], "Age": [100]}), tag="2024-01-01")
    upload(full_auth, ds, pd.DataFrame({"Friend": ["P2"], "Age": [200]}), tag="2024-01-02")
    upload(full_auth, ds, pd.DataFrame({"Friend": ["P1b"], "Age": [101]}), tag="2024-01-01")
    listed = run(dataset.list_partitions(auth=full_auth, dataset_id=ds)).response
    assert sorted((p["partitionId"], p["rowCount"]) for p in listed) == [("2024-01-01", 1), ("2024-01-02", 1)]
    run(dataset.delete_partition_stage_1(auth=full_auth, dataset_id=ds, dataset_partition_id="2024-01-02"))
    run(dataset.delete_partition_stage_2(auth=full_auth, dataset_id=ds, dataset_partition_id="2024-01-02"))
    listed = run(dataset.list_partitions(auth=full_auth, dataset_id=ds)).response
    assert [p["partitionId"] for p in listed] == ["2024-01-01"]
    names = {r["Friend"] for r in query(full_auth, ds, "SELECT Friend FROM table", loop_until_end=True)}
    assert names == {"Ann", "Bob", "Cy", "Di", "Ed", "P1b"}

    # schema: get, then alter (add a column); the rows stay
    cols = run(dataset.get_schema(auth=full_auth, dataset_id=ds)).response["tables"][0]["columns"]
    assert [(c["name"], c["type"]) for c in cols] == [("Friend", "STRING"), ("Age", "LONG")]
    new_schema = {
        "columns": [
            *({"type": c["type"], "name": c["name"]} for c in cols),
            {"type": "DOUBLE", "name": "Score"},
        ]
    }
    run(dataset.alter_schema(auth=full_auth, schema_obj=new_schema, dataset_id=ds))
    after = query(full_auth, ds, "SELECT * FROM table WHERE Friend = 'Ann'")
    assert after == [{"Friend": "Ann", "Age": 31, "Score": None}]

    # tags: the library replaces the list, and reads them back as a JSON string
    run(dataset.set_dataset_tags(auth=full_auth, tag_ls=["alpha", "beta"], dataset_id=ds))
    meta = run(dataset.get_dataset_by_id(dataset_id=ds, auth=full_auth)).response
    assert (
        json.loads(meta["tags"]) == ["alpha", "beta"] and int(meta["rowCount"]) == 6 and int(meta["columnCount"]) == 3
    )

    # index and its status
    index = run(dataset.index_dataset(auth=full_auth, dataset_id=ds)).response
    status = run(dataset.index_status(auth=full_auth, dataset_id=ds, index_id=index["indexId"])).response
    assert status["status"] == "SUCCESS"

    run(dataset.delete(auth=full_auth, dataset_id=ds))
    with pytest.raises(Exception, match="(?i)not.?found"):
        run(dataset.get_dataset_by_id(dataset_id=ds, auth=full_auth))


def test_streams_and_search_with_a_developer_token(token_auth: Any) -> None:
    import domolibrary.routes.datacenter as datacenter
    import domolibrary.routes.stream as stream

    body = {
        "transport": {
            "type": "CONNECTOR",
            "description": "com.domo.connector.snowflakeunloadv2",
            "version": "1",
        },
        "configuration": [{"name": "query", "value": "SELECT 1", "type": "string", "category": "METADATA"}],
        "account": None,
        "updateMethod": "REPLACE",
        "dataProvider": {"key": "snowflake-unload-v2"},
        "dataSource": {"name": "domolibrary stream", "description": "from the library"},
        "advancedScheduleJson": '{"type": "MANUAL", "timezone": "UTC"}',
    }
    created = run(stream.create_stream(auth=token_auth, body=body)).response
    sid = created["id"]
    got = run(stream.get_stream_by_id(auth=token_auth, stream_id=sid)).response
    assert got["transport"]["description"] == "com.domo.connector.snowflakeunloadv2"
    assert got["dataProvider"]["key"] == "snowflake-unload-v2" and got["dataSource"]["id"]
    run(stream.update_stream(auth=token_auth, stream_id=sid, body={**body, "updateMethod": "APPEND"}))
    assert run(stream.get_stream_by_id(auth=token_auth, stream_id=sid)).response["updateMethod"] == "APPEND"
    execution = run(stream.execute_stream(auth=token_auth, stream_id=sid)).response
    assert execution["currentState"] == "ERROR" and "snowflake-unload-v2" in execution["errors"][0]["message"]
    listed = run(asyncio.wait_for(stream.get_streams(auth=token_auth), timeout=60)).response
    assert sid in [s["id"] for s in listed]

    found = run(
        asyncio.wait_for(datacenter.search_datacenter(auth=token_auth, search_text="domolibrary stream"), timeout=60)
    ).response
    assert [f["databaseId"] for f in found] == [got["dataSource"]["id"]]
