"""Any line a person can type gets a reply or a clean error — never a crash, never a partial write."""
from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from domain.models import Base

COMMANDS = ["/help", "/team add", "/team set", "/team list", "/customer new", "/customer show", "/customer set",
            "/customer list", "/lead new", "/lead stage", "/lead screen", "/lead show", "/lead list", "/visit",
            "/callback list", "/callback done", "/settings lang", "/settings timezone", "/nope", "/lead"]
WORDS = ["Acme", "C1", "L1", "CB1", "CB2", "alice", "won", "lost", "negotiation", "zh", "en", "下周三", "华为",
         "Asia/Shanghai", "", "'", '"', "“", "=", "==", "mine", "team", "all", "<!channel>", "\x00", "L999999999999"]
KEYS = ["value", "currency", "source", "note", "next", "role", "supervisor", "lang", "stage", "reason", "result",
        "scale", "position", "potential", "intent", "cadence", "birthday", "email", "备注", "下次", "bogus"]
VALUES = st.one_of(st.sampled_from(["20万", "-1", "1e99", "NaN", "tomorrow", "2026-02-30", "5", "0", "sales",
                                    '"two words"', "x@y.z", "30d", "CNY", "¥", "下周八"]), st.text(max_size=12))


@st.composite
def lines(draw: st.DrawFn) -> str:
    parts = [draw(st.sampled_from(COMMANDS))]
    for _ in range(draw(st.integers(0, 4))):
        if draw(st.booleans()):
            parts.append(draw(st.sampled_from(WORDS)))
        else:
            parts.append(f"{draw(st.sampled_from(KEYS))}={draw(VALUES)}")
    return " ".join(parts)


def _counts(app) -> dict[str, int]:  # noqa: ANN001
    with app.uow() as uow:
        return {t.name: uow.session.scalar(select(func.count()).select_from(t))
                for t in Base.metadata.sorted_tables if t.name != "audit_log"}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(line=st.one_of(lines(), st.text(max_size=80)))
def test_any_line_replies_and_errors_write_nothing(bot, app, line: str) -> None:  # noqa: ANN001
    bot.console.handle("/customer new Acme") if not _counts(app)["customers"] else None
    before = _counts(app)
    ctx = bot.console._actor_ctx()
    reply = app.registry.dispatch(ctx, line if line.startswith("/") else "/" + line)
    assert reply.as_text().strip()
    if reply.error:
        assert _counts(app) == before, line


def test_control_characters_are_dropped(bot) -> None:  # noqa: ANN001
    assert "Customer Ac me (C1) created" in bot("/customer new Ac\x00 me")
    assert "Missing CUSTOMER" in bot("/customer show \x00")
