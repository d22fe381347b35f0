"""Whether this process can serve: its catalog answers a query and its lake answers one (GET /ready)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from sqlalchemy import Engine, text

from domolite.storage.lake import Lake

log = logging.getLogger("domolite.ready")


class Readiness:
    def __init__(self, engine: Engine, lake: Lake) -> None:
        self.engine = engine
        self.lake = lake

    def check(self) -> dict[str, str]:
        """Each dependency and `ok`, or what failed (the exception's kind only: no internals go out)."""
        return {"catalog": _probe(self._catalog, "catalog"), "lake": _probe(self._lake, "lake")}

    def _catalog(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1")).scalar_one()

    def _lake(self) -> None:
        self.lake.latest_snapshot()


def _probe(probe: Callable[[], None], name: str) -> str:
    try:
        probe()
    except Exception as exc:
        log.warning("readiness: the %s is not reachable (%s: %s)", name, type(exc).__name__, exc)
        return f"unreachable ({type(exc).__name__})"
    return "ok"
