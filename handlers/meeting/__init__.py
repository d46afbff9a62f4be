"""Commands of the weekly meeting."""
