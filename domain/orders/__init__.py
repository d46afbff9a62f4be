"""Orders: handed down from signed contracts through routing steps, shipped, accepted, rectified."""
from domain.orders.wiring import register

__all__ = ["register"]
