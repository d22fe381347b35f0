"""The catalog counts the changes to what a caller's principal is built from (users, clients, developer tokens,
groups, members, shares, and the removal of a DataSet), and the changes to DataSet records: a server remembers a
credential's principal, and a DataSet's record, only while its count stands, so a write that did not move it
would leave a revoked or changed credential working, or a commit unseen."""

from __future__ import annotations

import os
import threading
from datetime import datetime
from pathlib import Path
from typing import Any, cast

import pytest
from sqlalchemy import delete, insert, update

from domolite.auth.tokens import KNOWN_SCOPES, TokenService
from domolite.catalog import open_catalog
from domolite.catalog import schema as t
from domolite.catalog.changes import ACCESS_TABLES
from domolite.datasets.service import DataSets
from domolite.errors import DataSetNotFound, Unauthorized
from domolite.models.records import Column, DataSet, DomoType, Role

NOW = datetime(2026, 12, 3, 12, 0, 0)


def test_every_write_to_a_table_a_principal_is_built_from_moves_the_count(tmp_path: Path) -> None:
    catalog = open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    user = catalog.users.create("counted@example.com", "Counted", Role.PARTICIPANT, None)
    rows = {
        "users": {"email": "x@example.com", "name": "x", "role": "Participant", "created_at": NOW},
        "clients": {
            "client_id": "c", "secret_hash": "h", "name": "c", "user_id": user.id, "scopes": "data", "created_at": NOW,
        },
        "dev_tokens": {"id": "t", "token_hash": "h", "user_id": user.id, "name": "t", "created_at": NOW},
        "groups": {"name": "g", "description": "", "active": True, "creator_id": user.id, "created_at": NOW},
        "group_members": {"group_id": 1, "user_id": user.id},
        "dataset_permissions": {
            "dataset_id": "d", "grantee_type": "USER", "grantee_id": user.id, "access_level": "READ",
            "granted_by": user.id, "granted_at": NOW,
        },
    }  # fmt: skip
    assert set(rows) == ACCESS_TABLES
    for name, row in rows.items():
        table = t.metadata.tables[name]
        its = [table.c[k] == v for k, v in row.items()]
        for statement in (insert(table).values(row), update(table).where(*its).values(row), delete(table).where(*its)):
            before = catalog.access.changes()
            with catalog.tx() as c:
                c.execute(statement)
            assert catalog.access.changes() == before + 1, (name, statement)
    before = catalog.access.changes()
    with catalog.tx() as c:  # writes to tables no principal is built from (a DataSet's commit updates its row)
        c.execute(update(t.datasets).values(name="renamed"))
        c.execute(delete(t.audit_events))
    assert catalog.access.changes() == before
    with catalog.tx() as c:  # a DataSet removed takes its shares with it
        c.execute(delete(t.datasets))
    assert catalog.access.changes() == before + 1
    catalog.close()


def test_a_principal_is_built_again_once_another_process_changed_its_access(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    here, elsewhere = open_catalog(url), open_catalog(url)  # two processes on one catalog
    user = here.users.create("remembered@example.com", "Remembered", Role.PARTICIPANT, None)
    tokens = TokenService(here, 3600)
    token = tokens.create_dev_token(user.id, "tests")
    first = tokens.verify_dev_token(token)
    assert tokens.verify_dev_token(token) is first  # nothing changed: remembered
    assert first.group_ids == frozenset() and first.scopes == KNOWN_SCOPES

    group = elsewhere.access.create_group("readers", "", True, user.id)
    elsewhere.access.add_member(group.id, user.id)
    joined = tokens.verify_dev_token(token)
    assert joined.group_ids == frozenset({group.id})

    elsewhere.access.update_user(user.id, email=None, name=None, role=Role.ADMIN)
    assert tokens.verify_dev_token(token).is_admin

    TokenService(elsewhere, 3600).revoke_dev_token(token=token)
    with pytest.raises(Unauthorized, match="revoked"):
        tokens.verify_dev_token(token)
    here.close()
    elsewhere.close()


def _dataset(dataset_id: str, owner_id: int) -> DataSet:
    return DataSet(
        id=dataset_id,
        name="counted",
        description="",
        owner_id=owner_id,
        columns=(Column(name="n", type=DomoType.LONG, visible=True),),
        table=f"t_{dataset_id}",
        pdp_enabled=False,
        row_count=0,
        created_at=NOW,
        updated_at=NOW,
        data_updated_at=None,
        data_provider_type="api",
        tags=(),
        properties={},
        data_version=None,
    )


def _insert(catalog: Any, dataset: DataSet) -> None:
    with catalog.tx() as c:
        catalog.datasets.insert(c, dataset)


def test_every_write_to_a_datasets_record_moves_the_count_of_dataset_changes(tmp_path: Path) -> None:
    catalog = open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    user = catalog.users.create("owner@example.com", "Owner", Role.ADMIN, None)
    steps = [
        lambda: _insert(catalog, _dataset("d1", user.id)),
        lambda: catalog.datasets.update("d1", name="renamed"),
        lambda: catalog.datasets.record_data_change("d1", 5, 1),
        lambda: catalog.datasets.delete("d1"),
    ]
    for step in steps:
        before = catalog.datasets.changes()
        step()
        assert catalog.datasets.changes() == before + 1
    before = catalog.datasets.changes()
    group = catalog.access.create_group("g", "", True, user.id)  # writes to other tables move it not
    catalog.access.add_member(group.id, user.id)
    with catalog.tx() as c:
        c.execute(delete(t.audit_events))
    assert catalog.datasets.changes() == before
    catalog.close()


def test_a_datasets_record_is_read_again_once_another_process_changed_it(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'catalog.sqlite'}"
    here, elsewhere = open_catalog(url), open_catalog(url)  # two processes on one catalog
    user = here.users.create("owner@example.com", "Owner", Role.ADMIN, None)
    _insert(elsewhere, _dataset("d1", user.id))
    unused = cast(Any, None)
    datasets = DataSets(here, unused, unused, unused, unused, here.product)
    first = datasets.current("d1")
    assert datasets.current("d1") is first  # nothing changed: remembered
    assert (first.name, first.row_count, first.data_version) == ("counted", 0, None)

    elsewhere.datasets.record_data_change("d1", 42, 7)  # a commit at the other process
    committed = datasets.current("d1")
    assert (committed.row_count, committed.data_version) == (42, 7)

    other = elsewhere.users.create("next@example.com", "Next", Role.ADMIN, None)
    elsewhere.datasets.update("d1", owner_id=other.id, name="handed on")
    assert (datasets.current("d1").owner_id, datasets.current("d1").name) == (other.id, "handed on")

    elsewhere.datasets.delete("d1")
    with pytest.raises(DataSetNotFound):
        datasets.current("d1")
    here.close()
    elsewhere.close()


def test_the_count_read_by_threads_that_come_and_go_keeps_no_file_open_for_an_ended_thread(tmp_path: Path) -> None:
    """Worker threads come and go (a pool's idle ones end): the connection a thread read the count on is closed
    once it has ended, when another thread first reads, so the open files stay bounded by the live threads."""
    catalog = open_catalog(f"sqlite:///{tmp_path / 'catalog.sqlite'}")
    catalog.access.changes()
    catalog.datasets.changes()

    def open_files() -> int:
        return len(os.listdir("/proc/self/fd"))

    before = open_files()
    seen: list[int] = []
    for _ in range(40):
        worker = threading.Thread(target=lambda: seen.append(catalog.access.changes() + catalog.datasets.changes()))
        worker.start()
        worker.join()
    assert seen == [0] * 40
    assert open_files() <= before + 4  # the last thread's two connections at most (each a file and its WAL)
    catalog.close()
    assert open_files() < before
