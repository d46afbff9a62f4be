"""Approvals: the engine and its policies, contracts, expenses, leave, projects, collaboration."""
