"""Who may do what: every role the department's rules name can be given in either language, with its label in both
and its group in /team list; customer service reads every customer's archive and makes callbacks, visits and
complaints on any customer, but changes no owner and sees no amount outside its line; the archivist reads;
internal audit reads the access log. Refusals are audited as any other."""
from __future__ import annotations

import pytest
from sqlalchemy import func, select

from domain.kernel.errors import Invalid
from domain.kernel.i18n import translate, use_locale
from domain.kernel.vocab import GROUPS, ROLES
from domain.store.models import AuditEntry, Callback, Complaint, Customer, Member, Visit
from domain.team.access import ROLE_RIGHTS

# The roles a Chinese department's rules name (管理办法、流程管理制度) and the role each is given.
RULES_ROLES = {
    "部门经理": "manager", "业务经理": "manager", "副经理": "deputy", "业务员": "sales", "业务专员": "sales",
    "业务拓展人员": "sales", "销售人员": "sales", "业务人员": "sales", "客服人员": "service",
    "客户服务人员": "service", "项目经理": "project_manager", "项目负责人": "project_manager",
    "项目执行人员": "project_staff", "技术支持": "tech_support", "技术支持人员": "tech_support",
    "技术人员": "tech_support", "研发人员": "rd", "法务": "legal", "法务部门": "legal", "财务": "finance",
    "财务部门": "finance", "人力资源部门": "hr", "综合管理部门": "general_affairs", "内部审计部门": "audit",
    "档案管理部门": "archivist", "生产部门": "production", "采购部门": "purchasing", "质量检验部门": "quality",
    "物流部门": "logistics", "部门负责人": "head", "管理层": "head",
}


@pytest.mark.parametrize("locale", ["en", "zh"])
def test_every_role_the_rules_name_reads_in_either_language(locale: str) -> None:
    with use_locale(locale):
        for word, role in RULES_ROLES.items():
            assert ROLES.parse(word) == role, word
        for role, label in ROLES.labels.items():
            assert ROLES.parse(role) == role
            assert ROLES.parse(label) == role                       # the English label
            with use_locale("zh"):
                chinese = translate(label)
            assert chinese != label and ROLES.parse(chinese) == role  # the Chinese one, whoever types it
    with pytest.raises(Invalid):
        ROLES.parse("魔法师")


def test_every_role_has_a_group_and_the_groups_are_listed(bot) -> None:
    assert set(ROLES.labels) == set().union(*(roles for _title, roles in GROUPS))
    bot("/team add 小赵 role=技术支持", "/team add 小钱 role=研发人员,项目执行人员", "/team add 小孙 role=综合管理部门",
        "/team add 小陈 role=内部审计", "/team add 小吴 role=档案管理", "/team add 小郑 role=质检,物流",
        "/team add tina role=tech_support", '/team add pete role="project staff"')
    out = bot("/team list")
    assert "Technical support and R&D:\n  • pete — project staff" not in out
    assert "  • tina — technical support" in out and "  • 小钱 — research and development and project staff" in out
    assert "Support departments:\n" in out and "  • 小孙 — general administration" in out
    assert "Production and supply:\n  • 小郑 — quality inspection and logistics" in out
    assert "Project execution group:\n" in out and "  • pete — project staff" in out
    out = bot("/settings lang zh", "/team list")
    assert "技术支持与研发:" in out and "  • 小赵 — 技术支持" in out and "  • 小钱 — 研发和项目执行人员" in out
    assert "支持部门:" in out and "  • 小孙 — 综合管理" in out and "  • 小陈 — 内部审计" in out
    assert "  • 小吴 — 档案管理" in out
    assert "生产与供应:" in out and "  • 小郑 — 质量检验和物流" in out
    assert "项目执行组:" in out


def test_team_roles_lists_every_role_with_its_rights_in_the_readers_language(bot) -> None:
    out = bot("/team roles")
    for role, label in ROLES.labels.items():
        assert f"{label} ({role}):" in out
    assert "customer service (service): reads every customer's archive" in out
    assert "technical support (tech_support): no special rights" in out
    out = bot("/settings lang zh", "/team roles")
    assert "技术支持（技术支持人员或技术人员）：无特殊权限" in out
    assert "客服人员（客服、客户服务人员或客服专员）：可查阅所有客户档案" in out and "_" not in out
    assert set(ROLE_RIGHTS) <= set(ROLES.labels)


def test_a_member_may_hold_every_role_at_once(bot, app) -> None:
    """The roles are kept as keys in one column: all of them together fit, and read back."""
    assert "joined as" in bot(f"/team add 全才 role={','.join(ROLES.labels)}")
    with app.uow() as uow:
        assert uow.session.scalar(select(Member).where(Member.name == "全才")).role_set == set(ROLES.labels)


def test_a_role_nobody_knows_is_refused_with_the_choices(bot, app) -> None:
    out = bot("/team add 小赵 role=魔法师")
    assert "Unknown role '魔法师'" in out and "tech_support (technical support)" in out
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count(Member.id))) == 1


def _department(bot) -> None:
    """wang (admin, manager) ← 小李 (sales), 小周 (service); 小王 (sales) reports to nobody."""
    bot("/team add 小李 role=业务员 supervisor=wang", "/team add 小周 role=客服 supervisor=wang",
        "/team add 小王 role=业务员",
        ":as 小李", "/customer new 华为 contact=张三 phone=13800000000", "/lead new 华为 value=50万",
        '/contract new 华为 title="服务器" amount=800000')


def _denied(app, who: str) -> list[str]:
    with app.uow() as uow:
        member = uow.session.scalar(select(Member).where(Member.name == who))
        return list(uow.session.scalars(select(AuditEntry.detail).where(
            AuditEntry.actor_id == member.id, AuditEntry.action == "denied").order_by(AuditEntry.id)))


def test_a_service_members_day(bot, app) -> None:
    """小周 serves 小李's customer: reads the archive, logs a visit, makes the callback, handles a complaint — and is
    refused an owner change, the amounts of 小李's lead and contract, and a lead or contract of her own for it."""
    _department(bot)
    bot(":as 小周")
    shown = bot("/customer show 华为")
    assert "华为 (C1)" in shown and "Owner: 小李" in shown and "Phone: 13800000000" in shown
    assert "L1 · 华为 · market research · amount not shown" in shown
    assert "K1 · Nov 23, 2026 · 服务器 · amount not shown · draft · 小李" in shown
    assert "500,000" not in shown and "800,000" not in shown
    assert "Customers (1)" in bot("/customer list")

    out = bot('/visit 华为 channel=phone note="维护客户关系" next=2026-11-30')
    assert "Visit V1 to 华为 recorded (phone)" in out and "Callback CB2 scheduled for Nov 30, 2026." in out
    listed = bot("/callback list team")
    assert "CB2 · Nov 30, 2026 · 华为 · after visit · 小李" in listed and "CB1" in listed
    out = bot('/callback done CB2 result="客户满意，下月再联系"')
    assert "Callback CB2 with 华为 recorded." in out
    assert "Customer 华为 (C1) updated." in bot("/customer set 华为 phone=13900000000 contact=李四")

    out = bot('/complaint new 华为 severity=medium what="发票开错" wants="重开发票" assignee=小周')
    assert "Complaint Q1 from 华为 logged" in out
    bot(":as 小李", '/complaint new 华为 severity=low what="送货晚了" wants="道歉" assignee=小李', ":as 小周")
    assert "Complaints (2)" in bot("/complaint list")
    assert "小周 took over Q2." in bot("/complaint take Q2")
    for ref in ("Q1", "Q2"):
        bot(f'/complaint update {ref} note="已致电客户"', f'/complaint solution {ref} "重开发票并致歉"',
            f"/complaint resolve {ref}")
    assert "The customer is satisfied: Q1 is closed." in bot('/complaint callback Q1 satisfied note="满意"')

    # refused: the owner, the amounts, selling to someone else's customer
    assert "Only admin, deputy manager, or manager may do that." in bot("/customer set 华为 owner=小周")
    assert ("华为 is 小李's customer: you may keep its details up to date (industry, scale, contact, phone, e-mail, "
            "birthday), but its level, callback cadence, credit rating and risk are for 小李's line to change.") in bot(
        "/customer set 华为 risk=high")
    assert "its level, callback cadence" in bot("/customer set 华为 level=key phone=13700000000")
    assert "No contract K1." in bot("/contract show K1")
    assert "No lead L1." in bot("/lead show L1")
    assert "Contracts (0)" in bot("/contract list")
    assert "华为 is 小李's customer: you may read its archive, but that is for 小李's line to do." in bot(
        "/lead new 华为 value=1")
    assert "华为 is 小李's customer" in bot('/contract new 华为 title="x" amount=100')
    assert "华为 is 小李's customer" in bot("/risk set 华为 high reason=x")

    with app.uow() as uow:
        customer = uow.session.get(Customer, 1)
        xiaozhou = uow.session.scalar(select(Member).where(Member.name == "小周"))
        assert customer.owner_id != xiaozhou.id and customer.phone == "13900000000" and customer.level == "regular"
        assert uow.session.scalar(select(Visit.member_id)) == xiaozhou.id
        assert uow.session.scalar(select(Callback.done_by_id).where(Callback.number == 2)) == xiaozhou.id
        assert {c.status for c in uow.session.scalars(select(Complaint))} == {"closed", "resolved"}
        done = {(a.action, a.entity, a.entity_ref) for a in uow.session.scalars(
            select(AuditEntry).where(AuditEntry.actor_id == xiaozhou.id))}
    assert {("read", "customer", "C1"), ("create", "visit", "V1"), ("update", "callback", "CB2"),
            ("update", "customer", "C1"), ("create", "complaint", "Q1"), ("update", "complaint", "Q2")} <= done
    assert _denied(app, "小周") == ["/customer set 华为 owner=小周", "/customer set 华为 risk=high",
                                   "/customer set 华为 level=key phone=13700000000", "/contract show K1",
                                   "/lead show L1", "/lead new 华为 value=1", '/contract new 华为 title="x" amount=100',
                                   "/risk set 华为 high reason=x"]

    # the owner still sees every amount; a sales member of another line still sees nothing of 华为
    assert "CN¥800,000.00" in bot(":as 小李", "/customer show 华为")
    assert "No customer matches '华为'." in bot(":as 小王", "/customer show 华为")
    assert "No callback CB3." in bot('/callback done CB3 result="x"')


def test_a_service_member_reads_in_chinese_without_the_amounts(bot) -> None:
    _department(bot)
    out = bot(":as 小周", "/settings lang zh", "/customer show 华为")
    assert "负责人: 小李" in out
    assert "金额不予显示" in out and "800,000" not in out and "amount" not in out
    out = bot("/lead new 华为")
    assert "华为是小李的客户：你可以查阅其档案，但此事应由小李及其上级办理。" in out


def test_the_archivist_reads_the_archive_and_serves_no_customer(bot, app) -> None:
    _department(bot)
    bot(":as wang", "/team add 小吴 role=档案管理", ":as 小吴")
    assert "Owner: 小李" in bot("/customer show 华为") and "amount not shown" in bot("/customer show 华为")
    assert "华为 is 小李's customer" in bot('/visit 华为 note="x"')
    assert "No callback CB1." in bot('/callback done CB1 result="x"')
    assert "华为 is 小李's customer" in bot('/complaint new 华为 severity=low what=x wants=y')
    with app.uow() as uow:
        assert uow.session.scalar(select(func.count(Visit.id))) == 0
        assert uow.session.scalar(select(func.count(Complaint.id))) == 0


def test_internal_audit_reads_the_access_log_and_technical_support_has_no_special_rights(bot) -> None:
    _department(bot)
    bot(":as wang", "/team add 小陈 role=审计", "/team add 小赵 role=技术支持")
    out = bot(":as 小陈", "/audit C1")
    assert "Access log: C1" in out and "小李 · created · customer" in out
    assert "Only" in bot(":as 小赵", "/audit") and "No customer matches '华为'." in bot("/customer show 华为")
