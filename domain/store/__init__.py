"""Where records live: engine and sessions, the unit of work, the tables, migrations."""
