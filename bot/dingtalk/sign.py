"""The robot HTTP callback's signature: headers `timestamp` (milliseconds) and `sign`, which is
base64(HMAC-SHA256(app secret, timestamp + "\\n" + app secret)); more than an hour off is stale."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re

STALE_MS = 60 * 60 * 1000
_MILLIS = re.compile(r"[0-9]{1,16}")  # ASCII digits only: str.isdigit() takes "¹" and "٣", which int() refuses


def sign(secret: str, timestamp: str) -> str:
    digest = hmac.new(secret.encode("utf-8"), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode("ascii")


def check(secret: str, timestamp: str | None, signature: str | None, now_ms: int) -> str | None:
    """Why the request is refused ("missing", "stale", "forged"), or None when it is DingTalk's."""
    if not timestamp or not signature:
        return "missing"
    if not _MILLIS.fullmatch(timestamp):
        return "forged"
    if abs(now_ms - int(timestamp)) > STALE_MS:
        return "stale"
    if not hmac.compare_digest(sign(secret, timestamp).encode(), signature.strip().encode()):
        return "forged"
    return None
