"""The metadata catalog (SQLAlchemy Core): one engine and a store per noun on it (`Catalog`)."""

from domolite.catalog.database import Catalog, open_catalog

__all__ = ["Catalog", "open_catalog"]
