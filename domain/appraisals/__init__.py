"""Appraisals: self-review, scoring, approval, feedback and appeals."""
from domain.appraisals.wiring import register

__all__ = ["register"]
