"""pydomo 0.3.0.16, unmodified, against a real `domolite serve`."""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from pydomo import Domo

from tests.serverproc import Server


@pytest.fixture(scope="module")
def domo(server: Server) -> Domo:
    return Domo(server.client_id, server.client_secret, api_host=server.host, use_https=False, log_level=logging.ERROR)


def sample_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "i": [1, 2, 3, -4],
            "f": [1.5, np.nan, 1e-07, 0.30000000000000004],
            "s": ["plain", "with,comma", 'with "quote"\nand newline', "ü€"],
            "b": [True, False, True, False],
            "dt": pd.to_datetime(["2024-01-01 10:11:12", None, "2024-02-03 00:00:00", "1999-12-31 23:59:59"]),
            "n": [np.nan, np.nan, 2.0, np.nan],
        }
    )


def test_ds_create_then_ds_get_returns_an_equal_frame(domo: Domo) -> None:
    df = sample_frame()
    ds = domo.ds_create(df, "pydomo roundtrip", "made by pydomo")
    meta = domo.ds_meta(ds)
    assert meta["rows"] == 4
    assert meta["schema"]["columns"] == [
        {"type": "LONG", "name": "i"},
        {"type": "DOUBLE", "name": "f"},
        {"type": "STRING", "name": "s"},
        {"type": "STRING", "name": "b"},
        {"type": "DATETIME", "name": "dt"},
        {"type": "DOUBLE", "name": "n"},
    ]
    back = domo.ds_get(ds)
    assert list(back.columns) == list(df.columns)
    assert back["i"].tolist() == [1, 2, 3, -4]
    assert back["f"].isna().tolist() == [False, True, False, False]
    assert back["f"].dropna().tolist() == [1.5, 1e-07, 0.30000000000000004]
    assert back["s"].tolist() == df["s"].tolist()
    assert back["b"].tolist() == ["True", "False", "True", "False"]
    assert back["dt"].isna().tolist() == [False, True, False, False]
    assert [str(v) for v in back["dt"].dropna()] == [
        "2024-01-01 10:11:12",
        "2024-02-03 00:00:00",
        "1999-12-31 23:59:59",
    ]
    assert back["n"].isna().sum() == 3 and back["n"].dropna().tolist() == [2.0]


def test_ds_update_replaces_on_a_replace_stream_and_appends_on_an_append_stream(domo: Domo) -> None:
    df = sample_frame()
    replace_ds = domo.ds_create(df, "replace me", "")
    domo.ds_update(replace_ds, df.head(2))
    assert domo.ds_meta(replace_ds)["rows"] == 2
    assert domo.ds_get(replace_ds)["i"].tolist() == [1, 2]

    append_ds = domo.ds_create(df, "append me", "", update_method="APPEND")
    domo.ds_update(append_ds, df.head(2))
    assert domo.ds_meta(append_ds)["rows"] == 6
    assert domo.ds_get(append_ds)["i"].tolist() == [1, 2, 3, -4, 1, 2]


def test_multi_part_upload_with_parallel_gzip_parts(domo: Domo, tmp_path: Path) -> None:
    ds = domo.ds_create(pd.DataFrame({"part": [0], "row": [0]}), "parallel parts", "")
    stream_id = domo.streams.search(f"dataSource.id:{ds}")[0]["id"]
    execution = domo.streams.create_execution(stream_id)
    # Sparse part ids, sent out of order and at the same time; parts are put together in numeric order.
    part_ids = [40, 0, 7, 1000, 3]
    files = {}
    for pid in part_ids:
        path = tmp_path / f"part{pid}.csv"
        path.write_text("".join(f"{pid},{r}\n" for r in range(500)))
        files[pid] = path

    def send(pid: int) -> None:
        # stream_file=True gzips in chunks; False gzips the whole file. Both send Content-Encoding: gzip.
        domo.streams.upload_gzip_part_from_file(
            stream_id, execution["id"], pid, str(files[pid]), stream_file=pid % 2 == 0, chunk_size=4096
        )

    with ThreadPoolExecutor(max_workers=5) as pool:
        list(pool.map(send, part_ids))
    result = domo.streams.commit_execution(stream_id, execution["id"])
    assert result["currentState"] == "SUCCESS"
    got = domo.ds_query(
        ds,
        "SELECT part, count(*) AS n, min(`row`) AS lo, max(`row`) AS hi FROM table GROUP BY part ORDER BY part",
    )
    assert got["part"].tolist() == sorted(part_ids)
    assert got["n"].tolist() == [500] * 5
    assert got["lo"].tolist() == [0] * 5 and got["hi"].tolist() == [499] * 5
    exported = sorted(tuple(map(int, line.split(","))) for line in domo.datasets.data_export(ds, False).splitlines())
    assert exported == sorted((pid, r) for pid in part_ids for r in range(500))


def test_ds_query_list_meta_and_delete(domo: Domo) -> None:
    df = pd.DataFrame({"city": ["Oslo", "Lima", "Oslo"], "n": [1, 2, 3]})
    ds = domo.ds_create(df, "query me", "")
    out = domo.ds_query(ds, "SELECT `city`, SUM(n) AS total FROM table GROUP BY `city` ORDER BY total DESC")
    assert out.to_dict("records") == [{"city": "Oslo", "total": 4}, {"city": "Lima", "total": 2}]
    raw = domo.ds_query(ds, "SELECT * FROM table WHERE n > 1 ORDER BY n", return_data=False)
    assert raw["columns"] == ["city", "n"] and raw["rows"] == [["Lima", 2], ["Oslo", 3]]
    assert raw["numRows"] == 2 and raw["numColumns"] == 2

    listed = domo.ds_list(df_output=False)
    assert ds in [d["id"] for d in listed]
    assert len({d["id"] for d in listed}) == len(listed)  # paged to the end without repeats
    assert domo.ds_meta(ds)["name"] == "query me"
    domo.ds_delete(ds, prompt_before_delete=False)
    assert ds not in [d["id"] for d in domo.ds_list(df_output=False)]
    with pytest.raises(Exception, match="404"):
        domo.ds_meta(ds)


def test_ds_list_pages_past_fifty(domo: Domo, server: Server) -> None:
    with server.client() as api:
        ids = {
            api.post(
                "/v1/datasets",
                json={"name": f"paging-{i}", "schema": {"columns": [{"type": "LONG", "name": "x"}]}},
            ).json()["id"]
            for i in range(55)
        }
    listed = domo.ds_list(df_output=False, name_like="paging-")
    assert {d["id"] for d in listed} == ids


def test_a_bad_credential_is_refused_with_401(server: Server) -> None:
    with pytest.raises(Exception, match="401"):
        Domo(server.client_id, "not-the-secret", api_host=server.host, use_https=False, log_level=logging.ERROR)


def test_a_bad_value_in_one_part_leaves_the_dataset_unchanged(domo: Domo) -> None:
    ds = domo.ds_create(pd.DataFrame({"id": [1, 2], "name": ["a", "b"]}), "stays", "")
    stream_id = domo.streams.search(f"dataSource.id:{ds}")[0]["id"]
    execution = domo.streams.create_execution(stream_id)
    domo.streams.upload_part(stream_id, execution["id"], 0, "3,c\n4,d\n")
    domo.streams.upload_part(stream_id, execution["id"], 1, "5,e\nsix,f\n")
    with pytest.raises(Exception) as caught:
        domo.streams.commit_execution(stream_id, execution["id"])
    assert "part 1, line 2, column 'id'" in str(caught.value)
    assert domo.streams.get_execution(stream_id, execution["id"])["currentState"] == "ERROR"
    assert domo.ds_get(ds).to_dict("records") == [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]
