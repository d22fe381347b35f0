"""DataSets: their lifecycle, metadata and schema, and their data versions."""
