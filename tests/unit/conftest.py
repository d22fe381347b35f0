"""The unit tier: the pure code (row filters, permissions, the SQL sandbox, the error tree) without a server."""
