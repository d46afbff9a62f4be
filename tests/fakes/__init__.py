"""Fake chat platforms at the HTTP edge, recorded payloads, a TCP proxy."""
