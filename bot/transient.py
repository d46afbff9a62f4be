"""Failures that may pass: handling that met one of these is worth doing again when the platform redelivers."""
from __future__ import annotations

from sqlalchemy import exc as sa


def transient(exc: BaseException) -> bool:
    """Whether handling that failed with `exc` may succeed if tried again: the database unreachable, refusing
    connections or dropping them, locked or timing out, its connection pool exhausted, or a network call
    timing out. A bug (any other exception) fails the same way every time."""
    if isinstance(exc, sa.DBAPIError):
        return isinstance(exc, sa.OperationalError | sa.InterfaceError) or exc.connection_invalidated
    return isinstance(exc, sa.TimeoutError | sa.DisconnectionError | TimeoutError | ConnectionError)
