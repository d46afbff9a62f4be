"""Projects after their 立项, and cross-department requests after their approval."""
