"""What a caller may read and do: permissions, sharing, PDP policies and the row filter every read path applies."""
