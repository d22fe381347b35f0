"""PDP: each user sees exactly the rows their policies give them, in query and export alike; the owner and
Admins bypass PDP; no SQL trick gets past the filter."""

from __future__ import annotations

import csv
import io
import uuid

import httpx
import pytest

from tests.e2e.people import Person, equals_policy, make_person, query_rows, share
from tests.helpers import make_dataset
from tests.serverproc import Server

COLUMNS = [("id", "LONG"), ("region", "STRING"), ("amount", "DOUBLE"), ("day", "DATE")]
ROWS = [
    (1, "East", 10.0, "2024-01-01"),
    (2, "East", 20.0, "2024-02-01"),
    (3, "West", 30.0, "2024-03-01"),
    (4, "West", 40.0, "2024-04-01"),
    (5, "North", 50.0, "2024-05-01"),
    (6, "Northeast", 60.0, "2024-06-01"),
]
CSV = "".join(f"{i},{r},{a},{d}\n" for i, r, a, d in ROWS)


@pytest.fixture(scope="module")
def pdp(server: Server, api: httpx.Client) -> dict[str, object]:
    owner = make_person(server, api, "Privileged", "pdpowner")
    alice = make_person(server, api, "Participant", "alice")
    bob = make_person(server, api, "Participant", "bob")
    carol = make_person(server, api, "Participant", "carol")
    ds = make_dataset(owner.http, COLUMNS, "sales", csv=CSV)["id"]
    other = make_dataset(owner.http, COLUMNS, "secret other", csv="99,Secret,1.0,2024-01-01\n")["id"]
    west = api.post("/v1/groups", json={"name": f"west-{uuid.uuid4().hex[:6]}", "users": [bob.id]}).json()["id"]
    for person in (alice, bob, carol):
        assert share(owner.http, ds, "USER", person.id, "READ").status_code == 200
    r = owner.http.post(
        f"/v1/datasets/{ds}/policies",
        json={
            "name": "East only",
            "filters": [{"column": "region", "values": ["East"], "operator": "EQUALS"}],
            "users": [alice.id],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["type"] == "user" and r.json()["filters"][0]["not"] is False and r.json()["groups"] == []
    # the product form, naming a group, with ids as strings
    r = owner.http.post(
        f"/api/query/v1/data-control/{ds}/filter-groups",
        json={
            "name": "West team",
            "dataSourceId": ds,
            "userIds": [],
            "groupIds": [str(west)],
            "virtualUserIds": [],
            "dataSourcePermissions": False,
            "parameters": [
                {
                    "type": "COLUMN",
                    "name": "region",
                    "values": ["West"],
                    "operator": "EQUALS",
                    "ignoreCase": True,
                }
            ],
        },
    )
    assert r.status_code == 200, r.text
    assert r.json()["groupIds"] == [west] and r.json()["filterGroupId"] > 0
    switched = owner.http.put(f"/api/query/v1/data-control/{ds}", json={"enabled": True, "external": False})
    assert switched.json() == {"enabled": True, "secured": False, "external": False, "enabledColumn": False}
    return {
        "owner": owner,
        "alice": alice,
        "bob": bob,
        "carol": carol,
        "ds": ds,
        "other": other,
        "admin": api,
    }


def _ids_by_query(http: httpx.Client, ds: str) -> list[int]:
    return sorted(int(r[0]) for r in query_rows(http, ds, "SELECT id FROM table"))  # type: ignore[call-overload]


def _ids_by_export(http: httpx.Client, ds: str) -> list[int]:
    r = http.get(f"/v1/datasets/{ds}/data", params={"includeHeader": "true"})
    assert r.status_code == 200
    return sorted(int(row["id"]) for row in csv.DictReader(io.StringIO(r.text)))


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("alice", [1, 2]),
        ("bob", [3, 4]),
        ("carol", []),
        ("owner", [1, 2, 3, 4, 5, 6]),
        ("admin", [1, 2, 3, 4, 5, 6]),
    ],
)
def test_each_user_sees_exactly_their_rows_in_query_and_export(
    pdp: dict[str, object], who: str, expected: list[int]
) -> None:
    person = pdp[who]
    http = person.http if isinstance(person, Person) else person
    assert isinstance(http, httpx.Client)
    ds = str(pdp["ds"])
    assert _ids_by_query(http, ds) == expected
    assert _ids_by_export(http, ds) == expected
    count = query_rows(http, ds, "SELECT count(*), sum(amount) FROM table")
    assert count[0][0] == len(expected)


def test_policy_lists_start_with_the_open_policy(pdp: dict[str, object]) -> None:
    owner = pdp["owner"]
    assert isinstance(owner, Person)
    ds = str(pdp["ds"])
    groups = owner.http.get(
        f"/api/query/v1/data-control/{ds}/filter-groups/",
        params={"options": "load_associations,load_filters,include_open_policy"},
    ).json()
    assert [g["name"] for g in groups] == ["All Rows", "East only", "West team"]
    assert groups[0]["type"] == "open" and groups[0]["dataSourceId"] == ds
    policies = owner.http.get(f"/v1/datasets/{ds}/policies").json()
    assert [p["name"] for p in policies] == ["All Rows", "East only", "West team"]
    opened = policies[0]["id"]
    assert owner.http.delete(f"/v1/datasets/{ds}/policies/{opened}").status_code == 400
    # only the owner, co-owners and Admins manage policies
    alice = pdp["alice"]
    assert isinstance(alice, Person)
    assert alice.http.get(f"/v1/datasets/{ds}/policies").status_code == 403
    assert alice.http.put(f"/api/query/v1/data-control/{ds}", json={"enabled": False}).status_code == 403
    assert alice.http.put(f"/v1/datasets/{ds}", json={"pdpEnabled": False}).status_code == 403


def test_a_pdp_preview_returns_the_rows_of_the_named_filter_groups(pdp: dict[str, object]) -> None:
    owner, alice = pdp["owner"], pdp["alice"]
    assert isinstance(owner, Person) and isinstance(alice, Person)
    ds = str(pdp["ds"])
    groups = {
        g["name"]: g["filterGroupId"] for g in owner.http.get(f"/api/query/v1/data-control/{ds}/filter-groups").json()
    }

    def preview(http: httpx.Client, ids: list[object]) -> httpx.Response:
        return http.post(
            f"/api/query/v1/execute/{ds}",
            params={"offset": 0, "limit": 100},
            json={
                "sql": "SELECT id FROM table ORDER BY id limit 100 offset 0",
                "context": {"dataControlContext": {"filterGroupIds": ids, "previewPdp": True}},
            },
        )

    east = preview(owner.http, [groups["East only"]])
    assert east.status_code == 200, east.text
    assert east.json()["rows"] == [[1], [2]]
    both = preview(owner.http, [groups["East only"], str(groups["West team"])]).json()["rows"]
    assert both == [[1], [2], [3], [4]]
    assert len(preview(owner.http, [groups["All Rows"]]).json()["rows"]) == 6
    assert preview(owner.http, []).json()["rows"] == []
    assert len(query_rows(owner.http, ds, "SELECT id FROM table")) == 6  # no preview: the owner's own rows
    # Only who manages the policies previews them; an unknown filter group is named.
    assert preview(alice.http, [groups["West team"]]).status_code == 403
    unknown = preview(owner.http, [groups["East only"], 999999])
    assert unknown.status_code == 400 and "filterGroupIds[1]" in unknown.json()["message"]


def test_the_open_policy_gives_every_row_to_whom_it_names(pdp: dict[str, object]) -> None:
    owner, carol, ds = pdp["owner"], pdp["carol"], str(pdp["ds"])
    assert isinstance(owner, Person) and isinstance(carol, Person)
    opened = owner.http.get(f"/v1/datasets/{ds}/policies").json()[0]["id"]
    assert owner.http.put(f"/v1/datasets/{ds}/policies/{opened}", json={"users": [str(carol.id)]}).status_code == 200
    try:
        assert _ids_by_query(carol.http, ds) == [1, 2, 3, 4, 5, 6]
    finally:
        owner.http.put(f"/v1/datasets/{ds}/policies/{opened}", json={"users": []})
    assert _ids_by_query(carol.http, ds) == []


BYPASS_ATTEMPTS_SAME_ROWS = [
    "SELECT id FROM (SELECT * FROM table) AS t",
    "SELECT id FROM table UNION SELECT id FROM table",
    "WITH everything AS (SELECT * FROM table) SELECT id FROM everything",
    "SELECT id FROM `table` WHERE region <> 'East' OR 1 = 1",
    "SELECT a.id FROM table a LEFT JOIN table b ON a.id <> b.id GROUP BY a.id",
    "SELECT id FROM {ds}",
]


@pytest.mark.parametrize("sql", BYPASS_ATTEMPTS_SAME_ROWS)
def test_sql_tricks_still_see_only_the_policy_rows(pdp: dict[str, object], sql: str) -> None:
    alice, ds = pdp["alice"], str(pdp["ds"])
    assert isinstance(alice, Person)
    rows = query_rows(alice.http, ds, sql.format(ds=f"`{ds}`"))
    assert sorted({int(r[0]) for r in rows}) == [1, 2]  # type: ignore[call-overload]


def test_reads_outside_the_dataset_are_refused(server: Server, pdp: dict[str, object]) -> None:
    alice, ds, other = pdp["alice"], str(pdp["ds"]), str(pdp["other"])
    assert isinstance(alice, Person)
    parquet = next((server.data_dir / "lake").rglob("*.parquet"), server.data_dir / "lake" / "**" / "*.parquet")
    other_table = "ds_" + other.replace("-", "")
    for sql in [
        f"SELECT * FROM read_parquet('{parquet}')",
        f"SELECT * FROM '{parquet}'",
        f"SELECT * FROM {other_table}",
        f"SELECT * FROM lake.main.{other_table}",
        f"SELECT * FROM `{other}`",
        "SELECT * FROM information_schema.tables",
        "SELECT * FROM duckdb_tables()",
        "SELECT * FROM table WHERE id IN (SELECT id FROM read_parquet('" + str(parquet) + "'))",
    ]:
        r = alice.http.post(f"/v1/datasets/query/execute/{ds}", json={"sql": sql})
        assert r.status_code == 400, (sql, r.text)
        assert "Secret" not in r.text and "West" not in r.text
    # the other DataSet is not shared with alice at all
    assert (
        alice.http.post(f"/v1/datasets/query/execute/{other}", json={"sql": "SELECT * FROM table"}).status_code == 403
    )


@pytest.mark.parametrize(
    "expression",
    [
        "CAST(region AS INTEGER)",  # DuckDB quotes the value 'so'
        "CAST(region AS DECIMAL(10, 2))",  # and these "so"
        "CAST(region AS DATE)",
        "CAST(region AS TIMESTAMP)",
        "strptime(region, '%Y')",
        "json_extract(region, '$.a')",
    ],
)
def test_a_failed_cast_does_not_echo_hidden_values(pdp: dict[str, object], expression: str) -> None:
    alice, ds = pdp["alice"], str(pdp["ds"])
    assert isinstance(alice, Person)
    r = alice.http.post(f"/v1/datasets/query/execute/{ds}", json={"sql": f"SELECT {expression} FROM table"})
    assert r.status_code == 400
    # no value of any row is echoed (alice's own East rows included: which row failed is the engine's choice)
    assert "East" not in r.text and "West" not in r.text and "North" not in r.text
    assert "…" in r.json()["message"]


def test_a_filtered_users_binding_error_still_names_the_column(pdp: dict[str, object]) -> None:
    alice, ds = pdp["alice"], str(pdp["ds"])
    assert isinstance(alice, Person)
    r = alice.http.post(f"/v1/datasets/query/execute/{ds}", json={"sql": "SELECT regoin FROM table"})
    assert r.status_code == 400 and "regoin" in r.json()["message"]


OPERATOR_CASES = [
    ("EQUALS", ["North", "West"], False, [3, 4, 5]),
    ("EQUALS", ["East"], True, [3, 4, 5, 6]),
    ("LIKE", ["%orth%"], False, [5, 6]),
    ("BEGINS_WITH", ["North"], False, [5, 6]),
    ("ENDS_WITH", ["east"], False, [6]),
    ("CONTAINS", ["st"], False, [1, 2, 3, 4, 6]),
    ("CONTAINS", ["st"], True, [5]),
]
NUMERIC_CASES = [
    ("amount", "GREATER_THAN", ["40"], [5, 6]),
    ("amount", "LESS_THAN", ["20"], [1]),
    ("amount", "GREATER_THAN_EQUAL", ["40"], [4, 5, 6]),
    ("amount", "LESS_THAN_EQUAL", ["20"], [1, 2]),
    ("amount", "BETWEEN", ["20", "40"], [2, 3, 4]),
    ("id", "EQUALS", ["2", "6"], [2, 6]),
    ("day", "BETWEEN", ["2024-02-01", "2024-03-15"], [2, 3]),
]


def test_every_operator_and_not(pdp: dict[str, object]) -> None:
    owner, alice, ds = pdp["owner"], pdp["alice"], str(pdp["ds"])
    assert isinstance(owner, Person) and isinstance(alice, Person)
    policy = owner.http.post(f"/v1/datasets/{ds}/policies", json={"name": "ops", "filters": [], "users": []}).json()[
        "id"
    ]
    try:
        cases = [("region", op, values, negate, want) for op, values, negate, want in OPERATOR_CASES]
        cases += [(col, op, values, False, want) for col, op, values, want in NUMERIC_CASES]
        # alice keeps her East policy, so she sees East (1, 2) plus what this policy adds
        for column, op, values, negate, want in cases:
            body = {
                "filters": [{"column": column, "values": values, "operator": op, "not": negate}],
                "users": [alice.id],
            }
            r = owner.http.put(f"/v1/datasets/{ds}/policies/{policy}", json=body)
            assert r.status_code == 200, r.text
            assert r.json()["filters"][0]["operator"] == op
            assert _ids_by_query(alice.http, ds) == sorted(set(want) | {1, 2}), (column, op, values, negate)
    finally:
        assert owner.http.delete(f"/v1/datasets/{ds}/policies/{policy}").status_code == 204


def test_bad_policies_are_refused_with_the_field(pdp: dict[str, object]) -> None:
    owner, ds = pdp["owner"], str(pdp["ds"])
    assert isinstance(owner, Person)

    def create(filters: list[dict[str, object]], users: list[object] | None = None) -> httpx.Response:
        return owner.http.post(
            f"/v1/datasets/{ds}/policies", json={"name": "bad", "filters": filters, "users": users or []}
        )

    r = create([{"column": "nope", "values": ["x"], "operator": "EQUALS"}])
    assert r.status_code == 400 and "filters[0].column" in r.json()["message"]
    r = create([{"column": "region", "values": ["x"], "operator": "SIMILAR"}])
    assert r.status_code == 400 and "filters[0].operator" in r.json()["message"]
    r = create([{"column": "amount", "values": ["lots"], "operator": "GREATER_THAN"}])
    assert r.status_code == 400 and "DOUBLE" in r.json()["message"]
    r = create([{"column": "amount", "values": ["1"], "operator": "BETWEEN"}])
    assert r.status_code == 400 and "exactly 2" in r.json()["message"]
    r = create([{"column": "region", "values": ["x" * 300], "operator": "EQUALS"}])
    assert r.status_code == 400 and "255" in r.json()["message"]
    r = create([{"column": "region", "values": ["East"], "operator": "EQUALS"}], users=[123456789])
    assert r.status_code == 400 and "123456789" in r.json()["message"]
    names = [p["name"] for p in owner.http.get(f"/v1/datasets/{ds}/policies").json()]
    assert "bad" not in names


def test_a_bad_filter_group_is_refused_naming_the_field_as_the_product_api_spells_it(pdp: dict[str, object]) -> None:
    owner, ds = pdp["owner"], str(pdp["ds"])
    assert isinstance(owner, Person)
    url = f"/api/query/v1/data-control/{ds}/filter-groups"

    def create(parameter: dict[str, object], users: list[int] | None = None) -> httpx.Response:
        body = {"name": "bad group", "parameters": [{"type": "COLUMN", **parameter}], "userIds": users or []}
        return owner.http.post(url, json=body)

    r = create({"name": "nope", "values": ["x"], "operator": "EQUALS"})
    assert r.status_code == 400 and r.json()["message"].startswith("parameters[0].name:"), r.text
    r = create({"name": "region", "values": ["x"], "operator": "SIMILAR"})
    assert r.status_code == 400 and r.json()["message"].startswith("parameters[0].operator:"), r.text
    r = create({"name": "region", "values": ["East"], "operator": "EQUALS"}, users=[123456789])
    assert r.status_code == 400 and r.json()["message"].startswith("userIds:"), r.text
    assert "bad group" not in [g["name"] for g in owner.http.get(url).json()]


def test_pdp_off_shows_every_row_again(server: Server, api: httpx.Client) -> None:
    owner = make_person(server, api, "Privileged", "toggler")
    reader = make_person(server, api, "Participant", "toggled")
    ds = make_dataset(owner.http, COLUMNS, "toggle", csv=CSV)["id"]
    share(owner.http, ds, "USER", reader.id, "READ")
    assert owner.http.put(f"/v1/datasets/{ds}", json={"pdpEnabled": True}).json()["pdpEnabled"] is True
    assert _ids_by_query(reader.http, ds) == []  # in no policy: no rows
    assert _ids_by_export(reader.http, ds) == []
    assert owner.http.put(f"/v1/datasets/{ds}", json={"pdpEnabled": False}).status_code == 200
    assert _ids_by_query(reader.http, ds) == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize(("who", "expected"), [("alice", 2), ("bob", 2), ("carol", 0), ("owner", 6), ("admin", 6)])
def test_a_filtered_user_sees_the_count_of_their_own_rows_as_the_row_count(
    pdp: dict[str, object], who: str, expected: int
) -> None:
    """Metadata, lists and search show a PDP-filtered user how many rows are theirs, never the total."""
    person = pdp[who]
    http = person.http if isinstance(person, Person) else person
    assert isinstance(http, httpx.Client)
    ds = str(pdp["ds"])
    assert http.get(f"/v1/datasets/{ds}").json()["rows"] == expected
    listed = {d["id"]: d["rows"] for d in http.get("/v1/datasets", params={"nameLike": "sales", "limit": 50}).json()}
    assert listed[ds] == expected
    streams = http.get("/v1/streams/search", params={"q": f"dataSource.id:{ds}"}).json()
    assert [s["dataSet"]["rows"] for s in streams] == [expected]
    assert http.get(f"/api/data/v3/datasources/{ds}").json()["rowCount"] == expected
    found = http.post("/api/search/v1/query", json={"query": "sales", "count": 100}).json()["searchObjects"]
    assert [o["rowCount"] for o in found if o["id"] == ds] == [expected]
    connectors = http.get("/api/data/v1/streams").json()
    assert [c["dataSource"]["rowCount"] for c in connectors if c["dataSource"]["id"] == ds] == [expected]


def test_a_filtered_user_sees_no_row_counts_of_loads(server: Server, api: httpx.Client, pdp: dict[str, object]) -> None:
    """Data versions, partitions and executions count rows of the whole DataSet: a filtered user sees none."""
    owner, alice = pdp["owner"], pdp["alice"]
    assert isinstance(owner, Person) and isinstance(alice, Person)
    ds = make_dataset(owner.http, COLUMNS, "loads", csv=CSV)["id"]
    stream = owner.http.get("/v1/streams/search", params={"q": f"dataSource.id:{ds}"}).json()[0]["id"]
    execution = owner.http.post(f"/v1/streams/{stream}/executions", json={"updateMethod": "APPEND"}).json()["id"]
    owner.http.put(f"/v1/streams/{stream}/executions/{execution}/part/1", content=b"7,East,70.0,2024-07-01\n")
    assert owner.http.put(f"/v1/streams/{stream}/executions/{execution}/commit", json={}).status_code == 200
    assert share(owner.http, ds, "USER", alice.id, "READ").status_code == 200
    east = {"name": "East", "filters": [{"column": "region", "values": ["East"], "operator": "EQUALS"}]}
    assert owner.http.post(f"/v1/datasets/{ds}/policies", json={**east, "users": [alice.id]}).status_code == 201
    assert owner.http.put(f"/api/query/v1/data-control/{ds}", json={"enabled": True}).status_code == 200

    def counts(http: httpx.Client) -> dict[str, object]:
        versions = http.get(f"/api/data/v3/datasources/{ds}/dataversions/details").json()
        return {
            "rows": http.get(f"/v1/datasets/{ds}").json()["rows"],
            "execution": http.get(f"/v1/streams/{stream}/executions/{execution}").json()["rows"],
            "run": http.get(f"/api/data/v1/streams/{stream}/executions/{execution}").json()["rowsInserted"],
            "versions": [(v["numRows"], v["rowCount"]) for v in versions],
        }

    assert counts(owner.http) == {"rows": 7, "execution": 1, "run": 1, "versions": [(1, 7), (6, 6)]}
    assert counts(alice.http) == {"rows": 3, "execution": None, "run": None, "versions": [(None, None)] * 2}


def test_a_filtered_users_row_count_follows_each_load_and_policy_change(server: Server, api: httpx.Client) -> None:
    """The count of a filtered user's rows is remembered per data version and policy: never a stale one."""
    owner = make_person(server, api, "Privileged", "counter")
    reader = make_person(server, api, "Participant", "counted")
    ds = make_dataset(owner.http, COLUMNS, "counted", csv=CSV)["id"]
    share(owner.http, ds, "USER", reader.id, "READ")
    made = equals_policy(owner.http, ds, "East", "region", "East", reader.id)
    assert made.status_code == 201, made.text
    assert owner.http.put(f"/v1/datasets/{ds}", json={"pdpEnabled": True}).status_code == 200

    def rows() -> int:
        return int(reader.http.get(f"/v1/datasets/{ds}").json()["rows"])

    assert rows() == rows() == 2
    appended = owner.http.put(
        f"/v1/datasets/{ds}/data?updateMethod=APPEND",
        content=b"7,East,1.0,2024-07-01\n",
        headers={"Content-Type": "text/csv"},
    )
    assert appended.status_code == 204, appended.text
    assert rows() == 3
    same_size = "".join(f"{i},East,1.0,2024-01-01\n" for i in range(7))  # as many rows as before, more of them East
    replaced = owner.http.put(
        f"/v1/datasets/{ds}/data", content=same_size.encode(), headers={"Content-Type": "text/csv"}
    )
    assert replaced.status_code == 204, replaced.text
    assert rows() == 7
    changed = owner.http.put(
        f"/v1/datasets/{ds}/policies/{made.json()['id']}",
        json={
            "name": "West",
            "filters": [{"column": "region", "values": ["West"], "operator": "EQUALS"}],
            "users": [reader.id],
        },
    )
    assert changed.status_code == 200, changed.text
    assert rows() == 0
