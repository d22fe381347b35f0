"""The metadata catalog: users, clients, tokens, DataSets, streams and executions (SQLAlchemy Core)."""

from domolite.catalog.store import Catalog, open_catalog

__all__ = ["Catalog", "open_catalog"]
