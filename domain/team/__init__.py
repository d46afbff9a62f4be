"""The department: organisations, members, roles, supervisors, access and the access log."""
