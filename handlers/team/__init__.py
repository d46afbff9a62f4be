"""Commands of the department: members, roles, settings, the access log."""
