"""The weekly department meeting: updates, digest, minutes and action items."""
