"""The user commands of the `domolite` CLI (upload, export, query, datasets, versions, s3-export, login): an HTTP
client of the public APIs only, so that they work against any Domo-compatible server."""
