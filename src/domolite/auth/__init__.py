"""Who is calling: passwords, OAuth clients, access tokens and developer tokens."""
