"""Run every benchmark; each prints its ratio against a baseline measured in the same run."""

import sys

from bench import export_csv, export_s3, ingest, load, query, scale, scale_out, web

if __name__ == "__main__":
    ingest.main()
    export_csv.main()
    query.main([])
    sys.argv = sys.argv[:1]  # export_s3 parses its own flags
    export_s3.main()
    load.main([])
    scale.main([])
    scale_out.main([])
    web.main([])
