"""The instance product API (`https://{instance}.domo.com/api/...`), the routes Domo's own UI and domolibrary use."""

from __future__ import annotations

from domolite.api.instance import datasources, search, streams, uploads

MODULES = (datasources, uploads, streams, search)
