"""Receivables: payment terms as milestones, invoices (开票), payments (回款), ageing and overdue escalation."""
from domain.receivables.wiring import register

__all__ = ["register"]
