"""Connectors: accounts, streams in their connector form, schedules, the scheduler and the S3 unload writeback."""
