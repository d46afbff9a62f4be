"""Figures measured from the records, charts and table exports; imports no business area."""
