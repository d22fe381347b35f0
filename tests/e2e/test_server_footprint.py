"""A server loads only the libraries it uses. DuckDB's Python module imports pandas, when it is installed, on the
first query that binds parameters; the server binds none, so that its first commit does not pay for the import
(~0.25 s on 2 cores, and ~25 MiB that stay resident) of a library it never calls."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.helpers import JSON_HEADERS
from tests.serverproc import Server


@pytest.fixture(scope="module")
def lone_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = Server(data_dir=tmp_path_factory.mktemp("footprint") / "data").start()
    yield srv
    srv.stop()


def mapped_libraries(server: Server) -> set[str]:
    """The top-level packages and modules of site-packages whose files the server process has mapped (C
    extensions: `pandas`, `_duckdb`)."""
    assert server.proc is not None
    found = set()
    for line in Path(f"/proc/{server.proc.pid}/maps").read_text().splitlines():
        path = line.split(maxsplit=5)[-1]
        if "site-packages/" in path:
            found.add(path.split("site-packages/", 1)[1].split("/", 1)[0].split(".", 1)[0])
    return found


def test_loads_queries_time_travel_and_deletes_never_import_pandas(lone_server: Server) -> None:
    pytest.importorskip("pandas")  # installed with the test clients: the case this guards
    at_start = mapped_libraries(lone_server)
    assert "_duckdb" in at_start and "pandas" not in at_start
    with httpx.Client(
        base_url=lone_server.url, headers={"X-DOMO-Developer-Token": lone_server.dev_token}, timeout=120
    ) as api:
        columns = [{"type": "STRING", "name": "Friend"}, {"type": "LONG", "name": "Age"}]
        made = api.post(
            "/api/data/v2/datasources",
            headers=JSON_HEADERS,
            json={"userDefinedType": "api", "dataSourceName": "footprint", "schema": {"columns": columns}},
        )
        assert made.status_code == 200, made.text
        ds = made.json()["dataSource"]["dataSourceId"]

        # an import (REPLACE), then a stream execution of two parts (APPEND)
        assert api.put(f"/v1/datasets/{ds}/data", content=b"Ann,1\n").status_code == 204
        stream = api.get("/v1/streams/search", params={"q": f"dataSource.id:{ds}"}).json()[0]["id"]
        execution = api.post(f"/v1/streams/{stream}/executions", json={"updateMethod": "APPEND"}).json()["id"]
        for n, body in ((1, b"Bob,2\n"), (2, b"Cy,3\n")):
            part = api.put(
                f"/v1/streams/{stream}/executions/{execution}/part/{n}",
                content=body,
                headers={"Content-Type": "text/csv"},
            )
            assert part.status_code == 200, part.text
        committed = api.put(f"/v1/streams/{stream}/executions/{execution}/commit")
        assert committed.status_code == 200, committed.text

        def rows(**params: int) -> list[list[object]]:
            r = api.post(
                f"/api/query/v1/execute/{ds}", params=params, headers=JSON_HEADERS, json={"sql": "SELECT * FROM table"}
            )
            assert r.status_code == 200, r.text
            return sorted(r.json()["rows"])

        assert rows() == [["Ann", 1], ["Bob", 2], ["Cy", 3]]
        first = api.get(f"/api/data/v3/datasources/{ds}/dataversions/details").json()[-1]["dataId"]
        renamed = api.post(
            f"/api/data/v2/datasources/{ds}/schemas",
            json={"columns": [{"id": "Friend", "name": "Name", "type": "STRING"}, {"name": "Age", "type": "LONG"}]},
        )
        assert renamed.status_code == 200, renamed.text
        assert rows(dataVersion=first) == [["Ann", 1]]  # a version from before the rename, in today's names
        csv = api.get(f"/v1/datasets/{ds}/data", params={"includeHeader": "true"})
        assert csv.status_code == 200 and csv.text.splitlines()[0] == "Name,Age" and "Cy,3" in csv.text
        assert api.delete(f"/v1/datasets/{ds}").status_code == 204
        assert api.get(f"/v1/datasets/{ds}").status_code == 404
    assert "pandas" not in mapped_libraries(lone_server)
