"""What orders add to the application, in one place."""
from __future__ import annotations

from domain.approvals.contracts import FOLLOW_UPS, FollowUp
from domain.delivery.due import DUE_KINDS, DueKind
from domain.kernel.i18n import N_
from domain.kernel.wiring import Wiring
from domain.orders import handover, orders
from domain.reporting.exports import EXPORT_TABLES, ExportTable
from domain.reporting.figures import MEASURES, Measure
from domain.team.agenda import AGENDA_SOURCES, AgendaSource
from domain.team.handover import HANDOVERS, Handover


def register(wiring: Wiring) -> None:
    """The reminders and escalations of late order steps, the steps waiting for a member on their agenda, a
    contract's orders and delivery in its view and the ledger, the orders as a table to export, the delivery
    figures (订单按时交付率), and a leaving member's steps and orders through the hand-over."""
    wiring[DUE_KINDS].add(DueKind(orders.KIND, orders.fire, label=N_("order step reminders and escalations")))
    wiring[AGENDA_SOURCES].add(AgendaSource(orders.KIND, N_("Order steps"), orders.agenda_entries))
    wiring[HANDOVERS].add(Handover("orders", handover.hand_over))
    wiring[EXPORT_TABLES].add(ExportTable("orders", N_("orders"), orders.orders_table))
    wiring[FOLLOW_UPS].add(FollowUp("orders", parts=orders.contract_parts, columns=orders.LEDGER_COLUMNS,
                                    money=(False, False), values=orders.ledger_values))
    wiring[MEASURES].add(
        Measure("orders_handed_down", N_("Orders handed down"), "count", orders.orders_handed_down, order=48),
        Measure("orders_late", N_("Late orders"), "count", orders.orders_late, order=49),
        Measure("on_time_delivery", N_("On-time delivery rate"), "rate", orders.on_time_delivery, order=54,
                digest=False),
    )
