"""Run every benchmark; each prints its ratio against a baseline measured in the same run."""

from bench import export_csv, ingest

if __name__ == "__main__":
    ingest.main()
    export_csv.main()
