"""Commands of approvals: requests, decisions, policies, contracts."""
