"""Domo's public API (`https://api.domo.com`): /oauth/token and /v1/..., as pydomo and the SDKs call it."""
