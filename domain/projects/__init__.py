"""Projects carried from their initiation to their archive, and cross-department requests to their acceptance."""
from domain.projects.wiring import register

__all__ = ["register"]
