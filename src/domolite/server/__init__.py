"""The running process: which server processes are alive, the end of a piece of work, scratch folders, the log."""
