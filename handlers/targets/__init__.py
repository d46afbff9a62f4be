"""Commands of targets, the forecast and the funnel."""
