"""The instance product API (`https://{instance}.domo.com/api/...`), as Domo's UI and
domolibrary call it."""

from __future__ import annotations

from domolite.api.instance import datasources, search, streams, uploads

MODULES = (datasources, uploads, streams, search)
