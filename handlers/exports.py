"""/export: the leads, complaints or contract ledger as a file, sent to the one who asks."""
from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BeforeValidator, Field

from domain.kernel.i18n import N_, _
from domain.kernel.vocab import Vocabulary
from domain.reporting.exports import send_export
from handlers.args import Args, DateArg, choice, choices_of
from handlers.context import Ctx
from handlers.registry import Registry
from handlers.replies import Reply

commands = Registry()

# the tables as people name them; each is added to the exports by its area (leads by crm, the access log by team)
EXPORTS = Vocabulary(
    N_("export"),
    {"leads": N_("leads"), "complaints": N_("complaints"), "ledger": N_("contract ledger"),
     "audit": N_("access log"), "orders": N_("orders"), "receivables": N_("receivables"),
     "projects": N_("projects"), "projectfile": N_("project files")},
    {"商机": "leads", "lead": "leads", "投诉": "complaints", "complaint": "complaints", "台账": "ledger",
     "合同台账": "ledger", "contracts": "ledger", "访问记录": "audit", "审计": "audit", "日志": "audit",
     "log": "audit", "应收": "receivables", "应收账款": "receivables", "账龄": "receivables",
     "receivable": "receivables", "项目": "projects", "project": "projects", "项目档案": "projectfile",
     "档案": "projectfile", "订单": "orders", "order": "orders"},
)


class ExportArgs(Args):
    what: Annotated[str, choice(EXPORTS), choices_of(EXPORTS)] = Field(
        description=N_("leads, complaints, ledger, audit (the access log), orders, receivables, projects or "
                       "projectfile"))
    format: Annotated[Literal["xlsx", "csv"], BeforeValidator(lambda v: str(v).strip().lower())] = Field(
        "xlsx", description=N_("xlsx (Excel, the default) or csv"))
    start: DateArg | None = Field(None, description=N_("complaints received, or contracts signed, from this day"))
    end: DateArg | None = Field(None, description=N_("… up to this day"))


@commands.command("export", N_("Get the leads, complaints, contract ledger or access log you may see as a file."),
                  ExportArgs,
                  positional=("what", "format"),
                  examples=("/export leads", "/export complaints csv from=2026-11-01 to=2026-11-30", "/export 台账"))
def export(ctx: Ctx, args: ExportArgs) -> Reply:
    """Send a table of the rows the actor may see."""
    with ctx.uow() as uow:
        count = send_export(uow, ctx.actor, args.what, args.format, args.start, args.end)
    return Reply(text=_("Your {what} export is on its way to you as a file (rows: {count}).").format(
        what=EXPORTS.label(args.what), count=count), private=True)
