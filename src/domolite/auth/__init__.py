"""Who is calling: users and groups, passwords, OAuth clients, access, session and developer tokens, secrets."""
