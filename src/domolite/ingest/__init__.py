"""Getting data in: streams, executions, parts on disk, three-stage uploads and partitions, Domo's CSV format."""
