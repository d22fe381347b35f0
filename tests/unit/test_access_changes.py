"""The catalog counts the changes to what a caller's principal is built from (users, clients, developer tokens,
groups, members, shares, and the removal of a DataSet): a server remembers a credential's principal only while
that count stands, so a write that did not move it would leave a revoked or changed credential working."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from sqlalchemy import delete, insert, update

from domolite.auth.tokens import KNOWN_SCOPES, TokenService
from domolite.catalog import open_catalog
from domolite.catalog import schema as t
from domolite.catalog.changes import ACCESS_TABLES
from domolite.errors import Unauthorized
from domolite.models.records import Role

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
