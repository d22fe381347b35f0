"""Whether this process can serve: its catalog answers a query and its lake answers one (GET /ready)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from domolite.storage.lake import Lake

log = logging.getLogger("domolite.ready")


class Readiness:
    def __init__(self, catalog_ping: Callable[[], None], lake: Lake) -> None:
        """`catalog_ping` raises when the catalog does not answer."""
        self._catalog = catalog_ping
        self.lake = lake

    def check(self) -> dict[str, str]:
        """Each dependency and `ok`, or what failed (the exception's kind only: no internals go out)."""
        return {"catalog": _probe(self._catalog, "catalog"), "lake": _probe(self._lake, "lake")}

    def _lake(self) -> None:
        self.lake.latest_snapshot()


def _probe(probe: Callable[[], None], name: str) -> str:
    try:
        probe()
    except Exception as exc:
        log.warning("readiness: the %s is not reachable (%s: %s)", name, type(exc).__name__, exc)
        return f"unreachable ({type(exc).__name__})"
    return "ok"
