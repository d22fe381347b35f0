"""The crash tier: servers killed or stopped mid-work, many clients at once, several processes on one catalog and
lake. They use the end-to-end tests' PostgreSQL fixture and the export tests' S3 server."""

from tests.e2e.conftest import server_postgres  # noqa: F401
from tests.export.conftest import bucket, s3, s3_url  # noqa: F401
