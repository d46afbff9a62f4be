"""Customer complaints: intake, investigation, solution, tracking, callback, escalation."""
