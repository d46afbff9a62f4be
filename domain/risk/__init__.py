"""Risk levels of customers, leads and contracts, and their warnings."""
