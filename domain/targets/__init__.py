"""Targets (销售任务), the forecast and the funnel."""
from domain.targets.wiring import register

__all__ = ["register"]
