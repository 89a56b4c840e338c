"""The change watcher, the counts it keeps, and the one-minute window."""
