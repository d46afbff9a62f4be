"""The department's words: each choice has a key, an English label (the msgid) and Chinese aliases.

The zh catalog translates the labels into the terms the users already use.
"""
from __future__ import annotations

from dataclasses import dataclass

from domain.kernel.errors import Invalid
from domain.kernel.i18n import N_, Choices, Label, _, current_locale, translate


@dataclass(frozen=True)
class Vocabulary:
    name: str
    labels: dict[str, str]
    aliases: dict[str, str]

    def parse(self, value: str) -> str:
        key = value.strip().lower()
        if key in self.labels:
            return key
        if key in self.aliases:
            return self.aliases[key]
        for k, label in self.labels.items():
            if key == label.lower() or value.strip() == translate(label):
                return k
        raise Invalid(
            N_("Unknown {what} '{value}'. Choose one of: {choices}."),
            what=Label(self.name),
            value=value,
            choices=self.choices(),
        )

    def label(self, key: str | None) -> str:
        if key is None:
            return "—"
        return translate(self.labels.get(key, key))

    def choices(self) -> Choices:
        """What can be typed, as alternatives: for a Chinese reader the Chinese labels (each is read back as
        its key), for anyone else the keys, each with its label where that differs."""
        if current_locale() == "zh":
            return Choices(translate(v) for v in self.labels.values())
        return Choices(k if translate(v) == k else translate(v) if translate(v).startswith(k + " ") else
                       _("{key} ({label})").format(key=k, label=translate(v)) for k, v in self.labels.items())


# Every role a department's rules (管理办法、流程管理制度) name, in English and in the words Chinese departments use;
# what each may do is decided in domain.team.access and by the approval policy's chains.
ROLES = Vocabulary(
    N_("role"),
    {
        "admin": N_("admin"),
        "manager": N_("manager"),
        "deputy": N_("deputy manager"),
        "sales": N_("sales"),
        "service": N_("customer service"),
        "project_manager": N_("project manager"),
        "project_staff": N_("project staff"),
        "tech_support": N_("technical support"),
        "rd": N_("research and development"),
        "legal": N_("legal"),
        "finance": N_("finance"),
        "hr": N_("human resources"),
        "general_affairs": N_("general administration"),
        "audit": N_("internal audit"),
        "archivist": N_("archives"),
        "production": N_("production"),
        "purchasing": N_("purchasing"),
        "quality": N_("quality inspection"),
        "logistics": N_("logistics"),
        "head": N_("department head"),
    },
    {
        "管理员": "admin", "系统管理员": "admin",
        "经理": "manager", "部门经理": "manager", "业务经理": "manager", "销售经理": "manager",
        "副经理": "deputy", "部门副经理": "deputy", "业务副经理": "deputy",
        "业务员": "sales", "业务专员": "sales", "销售": "sales", "销售人员": "sales", "业务人员": "sales",
        "业务拓展人员": "sales", "业务拓展": "sales", "销售代表": "sales",
        "客服": "service", "客服人员": "service", "客户服务人员": "service", "客服专员": "service",
        "客户服务": "service",
        "项目经理": "project_manager", "项目负责人": "project_manager", "pm": "project_manager",
        "项目执行人员": "project_staff", "项目执行": "project_staff", "项目组成员": "project_staff",
        "实施人员": "project_staff",
        "技术支持": "tech_support", "技术支持人员": "tech_support", "技术人员": "tech_support",
        "tech support": "tech_support",
        "研发": "rd", "研发人员": "rd", "r&d": "rd",
        "法务": "legal", "法务人员": "legal", "法务部门": "legal",
        "财务": "finance", "财务人员": "finance", "财务部门": "finance",
        "人力资源": "hr", "人力资源部门": "hr", "人事": "hr",
        "综合管理": "general_affairs", "综合管理部门": "general_affairs", "综合管理部": "general_affairs",
        "综合部": "general_affairs", "行政": "general_affairs",
        "审计": "audit", "内部审计": "audit", "审计部门": "audit", "内部审计部门": "audit",
        "档案管理": "archivist", "档案管理员": "archivist", "档案管理部门": "archivist", "档案员": "archivist",
        "生产": "production", "生产部门": "production",
        "采购": "purchasing", "采购部门": "purchasing", "采购员": "purchasing",
        "质检": "quality", "质检员": "quality", "质量检验": "quality", "质量检验部门": "quality",
        "物流": "logistics", "物流部门": "logistics",
        "部门负责人": "head", "负责人": "head", "业务部门负责人": "head", "管理层": "head", "公司管理层": "head",
    },
)

# The department's groups (业务拓展组, 项目执行组, 客户服务组; technical support and R&D; the support departments,
# 支持部门; the departments an order passes through, 生产、采购、质检、物流), as its roles place people in them; a
# member with roles in several groups belongs to each.
GROUPS: tuple[tuple[str, frozenset[str]], ...] = (
    (N_("Management"), frozenset({"manager", "deputy", "head", "admin"})),
    (N_("Business development group"), frozenset({"sales"})),
    (N_("Project execution group"), frozenset({"project_manager", "project_staff"})),
    (N_("Customer service group"), frozenset({"service"})),
    (N_("Technical support and R&D"), frozenset({"tech_support", "rd"})),
    (N_("Legal and finance"), frozenset({"legal", "finance"})),
    (N_("Support departments"), frozenset({"general_affairs", "hr", "audit", "archivist"})),
    (N_("Production and supply"), frozenset({"production", "purchasing", "quality", "logistics"})),
)

STAGES = Vocabulary(
    N_("stage"),
    {
        "research": N_("market research"),
        "screening": N_("screening"),
        "contact": N_("first contact"),
        "needs": N_("needs discussion"),
        "proposal": N_("proposal"),
        "negotiation": N_("negotiation"),
        "followup": N_("follow-up"),
        "won": N_("won"),
        "lost": N_("lost"),
    },
    {
        "市场调研": "research", "调研": "research", "客户筛选": "screening", "筛选": "screening",
        "初次接触": "contact", "接触": "contact", "需求沟通": "needs", "需求": "needs",
        "方案推介": "proposal", "方案": "proposal", "商务洽谈": "negotiation", "洽谈": "negotiation",
        "谈判": "negotiation", "客户跟进": "followup", "跟进": "followup", "follow-up": "followup",
        "签约": "won", "成交": "won", "赢单": "won", "签单": "won", "中标": "won",
        "流失": "lost", "丢单": "lost", "输单": "lost", "未成交": "lost",
    },
)
PIPELINE = ("research", "screening", "contact", "needs", "proposal", "negotiation", "followup")
CLOSED_STAGES = ("won", "lost")
WINNABLE_FROM = ("negotiation", "followup")

SOURCES = Vocabulary(
    N_("source"),
    {
        "web": N_("web"),
        "report": N_("industry report"),
        "exhibition": N_("exhibition"),
        "referral": N_("customer referral"),
        "phone": N_("phone marketing"),
        "email": N_("e-mail"),
        "visit": N_("visit"),
        "wechat": N_("WeChat"),
        "social": N_("social media"),
    },
    {
        "网络": "web", "网站": "web", "官网": "web", "网上": "web", "互联网": "web", "网络推广": "web",
        "网络营销": "web", "搜索引擎": "web", "百度推广": "web", "竞价": "web", "行业报告": "report",
        "报告": "report", "展会": "exhibition", "展览会": "exhibition", "展览": "exhibition",
        "客户推荐": "referral", "推荐": "referral", "介绍": "referral", "转介绍": "referral",
        "客户介绍": "referral", "老客户介绍": "referral", "老客户推荐": "referral", "电话营销": "phone",
        "电话": "phone", "电销": "phone", "邮件": "email", "e-mail": "email", "拜访": "visit",
        "上门拜访": "visit", "陌拜": "visit",
        "微信": "wechat", "企业微信": "wechat", "公众号": "wechat", "微信公众号": "wechat", "朋友圈": "wechat",
        "小程序": "wechat", "视频号": "wechat",
        "抖音": "social", "快手": "social", "小红书": "social", "微博": "social", "社交媒体": "social",
        "新媒体": "social", "自媒体": "social", "直播": "social", "短视频": "social",
    },
)

VISIT_CHANNELS = Vocabulary(
    N_("channel"),
    {
        "onsite": N_("on-site"),
        "phone": N_("phone"),
        "email": N_("e-mail"),
        "exhibition": N_("exhibition"),
        "online": N_("online"),
        "wechat": N_("WeChat"),
    },
    {
        "on-site": "onsite", "现场": "onsite", "上门": "onsite", "拜访": "onsite", "电话": "phone",
        "邮件": "email", "e-mail": "email", "展会": "exhibition", "线上": "online", "网络": "online",
        "视频": "online", "视频会议": "online", "微信": "wechat", "企业微信": "wechat", "微信电话": "wechat",
        "微信视频": "wechat", "weixin": "wechat",
    },
)

LEVELS = Vocabulary(
    N_("level"),
    {"key": N_("key account"), "regular": N_("regular"), "minor": N_("minor")},
    {"重点": "key", "重点客户": "key", "a": "key", "普通": "regular", "b": "regular", "一般": "minor",
     "c": "minor"},
)
DEFAULT_CADENCE_DAYS = {"key": 30, "regular": 60, "minor": 90}

SCALES = Vocabulary(
    N_("scale"),
    {"small": N_("small"), "medium": N_("medium"), "large": N_("large")},
    {"小": "small", "小型": "small", "中": "medium", "中型": "medium", "大": "large", "大型": "large"},
)

RISKS = Vocabulary(
    N_("risk"),
    {"high": N_("high (red)"), "medium": N_("medium (orange)"), "low": N_("low (yellow)"),
     "unassessed": N_("not assessed")},
    {"高": "high", "红": "high", "red": "high", "中": "medium", "橙": "medium", "orange": "medium",
     "低": "low", "黄": "low", "yellow": "low", "未评估": "unassessed", "not assessed": "unassessed",
     "none": "unassessed", "无": "unassessed"},
)

CREDIT_RATINGS = ("AAA", "AA", "A", "BBB", "BB", "B", "C")

CALLBACK_REASONS = {
    "visit": N_("after visit"),
    "cadence": N_("regular callback"),
    "manual": N_("scheduled"),
    "complaint": N_("after complaint"),
    "delivery": N_("after delivery"),
}
