"""Members, roles, supervisors, languages and who may manage them."""
from __future__ import annotations

from sqlalchemy import func, select

from domain.store.models import AuditEntry, Member


def test_first_member_becomes_admin_and_manager(bot) -> None:
    out = bot("/team list")
    assert "wang — admin and manager" in out
    assert "first member" in bot.out.getvalue()


def test_add_list_and_set(bot) -> None:
    assert "alice joined as sales." in bot("/team add alice role=sales lang=zh")
    assert "bob joined as sales and customer service." in bot("/team add bob role=sales,客服 supervisor=alice")
    out = bot("/team list")
    assert "bob — sales and customer service · reports to alice" in out
    assert "alice — sales · 简体中文" in out
    assert "updated" in bot("/team set bob supervisor=wang")
    assert "reports to wang" in bot("/team list")


def test_sales_cannot_add_members_and_refusal_is_logged(bot, app) -> None:
    bot("/team add alice role=sales")
    bot(":as alice")
    out = bot("/team add eve role=admin")
    assert "Only admin or manager may use /team add." in out
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Member)) == 2
        denied = uow.session.scalar(select(AuditEntry).where(AuditEntry.action == "denied"))
        assert denied is not None and "/team add eve" in (denied.detail or "")


def test_member_may_change_own_language_but_not_roles(bot) -> None:
    bot("/team add alice role=sales")
    bot(":as alice")
    assert "updated" in bot("/team set alice lang=zh")
    assert "只有" in bot("/team set alice role=admin") or "Only" in bot("/team set alice role=admin")


def test_bad_team_input_changes_nothing(bot, app) -> None:
    bot("/team add alice role=sales")
    cases = {
        "/team add bob": "Missing role=",
        "/team add bob role=wizard": "Unknown role 'wizard'",
        "/team add alice role=sales": "already a member named alice",
        "/team add bob role=sales supervisor=nobody": "No member named 'nobody'",
        "/team add bob role=sales lang=klingon": "Unknown language 'klingon'",
        "/team add bob role=sales colour=red": "has no option colour=",
        "/team set alice supervisor=alice": "would make a loop",
        "/team set wang role=sales": "last admin",
        "/team set alice": "Nothing to change",
    }
    for line, expected in cases.items():
        assert expected in bot(line), line
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count()).select_from(Member)) == 2


def test_supervisor_loop_through_a_chain(bot) -> None:
    bot("/team add a role=sales", "/team add b role=sales supervisor=a", "/team add c role=sales supervisor=b")
    assert "would make a loop" in bot("/team set a supervisor=c")


def test_help_lists_and_explains(bot) -> None:
    assert "/lead" in bot("/help")
    out = bot("/help lead new")
    assert "/lead new CUSTOMER" in out and "value" in out
    assert "No help for 'nothing'" in bot("/help nothing")


def test_unknown_commands_suggest(bot) -> None:
    assert "Did you mean /lead?" in bot("/leed")
    assert "Did you mean /lead stage?" in bot("/lead stag L1 won")
    assert "needs a sub-command" in bot("/lead")
    assert "Unknown command /xyzzy" in bot("/xyzzy")


def test_department_settings(bot) -> None:
    assert "Time zone: Asia/Shanghai" in bot("/settings show")
    assert "16" in bot("/settings show")
    assert "or more now marks a key account" in bot("/settings keyscore 12")
    assert "out of range" in bot("/settings keyscore 30")
    assert "is not a whole number" in bot("/settings reminderhour nine")
    bot("/customer new Acme", "/lead new Acme")
    assert "At or above 12" in bot("/lead screen L1 scale=3 position=3 potential=3 intent=3")
    bot("/team add alice role=sales", ":as alice")
    assert "Only" in bot("/settings keyscore 10")


def test_department_language_reaches_members_without_their_own_and_the_meeting_digest(bot) -> None:
    bot("/team add alice role=sales", "/team add bob role=sales lang=en")
    assert "Only admin or manager may use /settings deptlang" in bot(":as alice", "/settings deptlang zh")
    assert "Unknown language 'fr'" in bot(":as wang", "/settings deptlang fr")
    assert "Department language: English" in bot("/settings show")
    bot("/settings deptlang zh")
    assert "部门语言: 简体中文" in bot("/settings show")                  # wang chose no language of his own
    assert "我的语言: 简体中文" in bot(":as alice", "/settings show")
    assert "My language: English" in bot(":as bob", "/settings show")     # bob chose English
    assert "语言: 简体中文" in bot(":as wang", "/meeting set day=monday time=09:30 channel=sales")


def test_reminder_hour_moves_pending_reminders(bot) -> None:
    bot("/settings reminderhour 14", "/customer new Acme", '/visit Acme note="x" next=tomorrow')
    out = bot(":advance 1d")
    assert "[2026-11-24 14:00] → @wang:" not in out        # Nov 24 10:00: not yet
    assert "[2026-11-24 14:00] → @wang:" in bot(":advance 5h")


def test_the_team_is_listed_by_the_departments_groups(bot) -> None:
    """The department's groups as the roles place people: 业务拓展组 (sales), 项目执行组 (project managers), 客户服务组
    (service); a member with roles in two groups is in both."""
    bot("/team add alice role=sales", "/team add pat role=sales,pm", "/team add sam role=service",
        "/team add lee role=legal", "/settings lang zh")
    out = bot("/team list")
    assert (out.index("部门管理:\n  • wang") < out.index("业务拓展组:\n  • alice")
            < out.index("  • pat — 业务员和项目经理"))
    assert "项目执行组:\n  • pat" in out and "客户服务组:\n  • sam" in out and "法务与财务:\n  • lee" in out
