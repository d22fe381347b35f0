"""Getting data in: parts on disk, the execution lifecycle, and Domo's CSV format."""
