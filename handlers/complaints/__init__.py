"""Commands of complaint handling."""
