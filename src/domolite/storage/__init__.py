"""Data storage: DuckDB with the DuckLake extension. The only package (with `query/`) that imports duckdb."""
