"""What risk levels add to the application, in one place."""
from __future__ import annotations

from domain.kernel.wiring import Wiring


def register(wiring: Wiring) -> None:
    """Nothing yet: a level is shown with its record wherever the record is listed, and its warning is sent
    when it is raised, in the same transaction."""
