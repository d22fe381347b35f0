"""Personalized data permissions: policies, and the row filter every read path applies."""
