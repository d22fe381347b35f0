"""What every store of the catalog shares: the one engine, and one transaction style (`with self.tx() as c`,
for reads and writes alike). A write another store prepares (`CatalogWrite`) runs inside the caller's
transaction, so that both commit as one."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, Engine, Executable

# A write another catalog store prepares, to run inside a transaction of this one (one commit for both).
CatalogWrite = Callable[[Connection], None]


class Store:
    """The tables of one noun, on the catalog's engine."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        """One transaction: committed when the block ends, rolled back when it raises."""
        with self.engine.begin() as conn:
            yield conn

    def first_or(self, query: Executable, missing: Exception, params: Mapping[str, Any] | None = None) -> Any:
        """The first row `query` finds (with its bound `params`), or raise `missing` (the noun's not-found error)."""
        with self.tx() as c:
            row = c.execute(query, params).first()
        if row is None:
            raise missing
        return row
