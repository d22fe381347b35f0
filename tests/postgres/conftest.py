"""The PostgreSQL tests also use the S3 server of the export tests."""

from tests.export.conftest import bucket, s3, s3_url  # noqa: F401
