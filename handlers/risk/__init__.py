"""Commands of risk levels."""
