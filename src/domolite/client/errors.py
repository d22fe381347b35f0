"""The one error of the user commands."""


class ClientError(Exception):
    """A failure the user can act on; the CLI prints its message and exits 1."""
