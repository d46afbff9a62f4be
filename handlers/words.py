"""The Chinese words of the commands: what people type for a command, a sub-command and an argument.

`/客户 新建 华为 行业=通信` is `/customer new 华为 industry=通信`: a typed line is read through `canonical`
before the registry resolves it, wherever it comes from (console, Telegram, Slack). A Chinese reader is shown
the same words (help, usage lines, the commands in buttons), so what bizbot shows can be typed back. The
platforms' own command menus keep the Latin names (Telegram allows only a-z, 0-9 and _ there).
"""
from __future__ import annotations

import re

# group: the words that name it, the first the one shown
GROUP_WORDS: dict[str, tuple[str, ...]] = {
    "help": ("帮助", "说明书"),
    "team": ("团队", "成员"),
    "enrol": ("登记", "启用"),
    "settings": ("设置",),
    "customer": ("客户", "客户档案"),
    "lead": ("商机", "线索"),
    "visit": ("拜访", "走访"),
    "callback": ("回访",),
    "agenda": ("待办", "日程"),
    "remind": ("提醒",),
    "approve": ("批准", "同意"),
    "reject": ("驳回", "拒绝"),
    "changes": ("退回修改", "退回"),
    "approvals": ("审批",),
    "policy": ("审批规则", "规则"),
    "delegate": ("代审", "委托"),
    "contract": ("合同",),
    "order": ("订单",),
    "expense": ("报销", "费用报销"),
    "leave": ("请假",),
    "project": ("立项", "项目"),
    "collab": ("协作", "跨部门协作"),
    "complaint": ("投诉", "客诉"),
    "kpi": ("指标", "关键指标"),
    "meeting": ("例会", "会议"),
    "digest": ("简报", "例会简报"),
    "action": ("行动项", "待办事项"),
    "review": ("考核", "绩效", "绩效考核"),
    "holiday": ("假日", "节假日", "休息日"),
    "export": ("导出",),
    "risk": ("风险",),
    "audit": ("访问记录", "审计"),
    "invoice": ("开票", "发票"),
    "payment": ("回款", "收款"),
    "receivables": ("应收", "应收账款", "账龄"),
    "target": ("目标", "销售任务", "任务"),
    "forecast": ("预测", "销售预测"),
    "funnel": ("漏斗", "销售漏斗"),
    "enquiry": ("咨询", "客户咨询"),
    "suggestion": ("建议", "客户建议"),
}

# "group sub": the words that name the sub-command, the first the one shown
SUB_WORDS: dict[str, tuple[str, ...]] = {
    "team add": ("添加", "加入", "新增"),
    "team set": ("修改", "设置"),
    "team list": ("列表", "名单", "查看"),
    "team invite": ("邀请",),
    "team invite-group": ("邀请群", "加群"),
    "team roles": ("角色",),
    "team leave": ("离职", "离职交接"),
    "settings lang": ("语言",),
    "settings deptlang": ("部门语言",),
    "settings timezone": ("时区",),
    "settings keyscore": ("重点分数线", "重点客户分数"),
    "settings reminderhour": ("提醒时间", "提醒时刻"),
    "settings staledays": ("停滞天数", "商机停滞天数"),
    "settings show": ("查看",),
    "customer new": ("新建", "新增", "建档"),
    "customer set": ("修改", "设置", "更新"),
    "customer show": ("查看", "档案"),
    "customer list": ("列表", "清单"),
    "lead new": ("新建", "新增", "录入"),
    "lead stage": ("阶段", "推进"),
    "lead screen": ("筛选", "评分"),
    "lead show": ("查看",),
    "lead list": ("列表", "清单"),
    "callback list": ("列表", "清单"),
    "callback done": ("完成", "已回访"),
    "remind snooze": ("推迟", "稍后"),
    "remind mute": ("静音", "屏蔽"),
    "remind unmute": ("恢复", "取消静音"),
    "remind list": ("列表", "查看"),
    "approvals show": ("查看",),
    "approvals resubmit": ("重新提交", "重提"),
    "policy show": ("查看",),
    "policy set": ("设置", "修改"),
    "policy timing": ("时限",),
    "policy channel": ("频道",),
    "policy explain": ("说明", "试算"),
    "contract new": ("新建", "起草"),
    "contract submit": ("提交", "送审"),
    "contract edit": ("修改", "编辑"),
    "contract show": ("查看",),
    "contract list": ("列表", "清单"),
    "contract change": ("变更",),
    "contract ledger": ("台账", "合同台账"),
    "order new": ("新建", "下达", "录入"),
    "order show": ("查看",),
    "order list": ("列表", "清单"),
    "order track": ("跟踪", "订单跟踪"),
    "order ack": ("确认", "接单"),
    "order done": ("完成",),
    "order ship": ("发货",),
    "order accept": ("验收",),
    "order route": ("流程", "下达流程"),
    "contract terms": ("付款条件", "付款节点"),
    "invoice request": ("申请", "开票申请"),
    "invoice issued": ("已开", "开具"),
    "invoice list": ("列表", "清单"),
    "settings contractterms": ("付款条件", "合同付款条件"),
    "settings overduerisk": ("逾期风险天数", "逾期风险"),
    "complaint new": ("新建", "受理", "登记"),
    "complaint assign": ("指派", "分派"),
    "complaint take": ("接手", "认领"),
    "complaint ack": ("确认", "响应"),
    "complaint update": ("进展", "更新"),
    "complaint solution": ("方案", "解决方案"),
    "complaint resolve": ("解决", "已解决"),
    "complaint callback": ("回访",),
    "complaint close": ("关闭", "结案"),
    "complaint show": ("查看",),
    "complaint list": ("列表", "清单"),
    "complaint policy": ("时限", "规定"),
    "complaint channel": ("频道",),
    "complaint hours": ("工作时间",),
    "complaint onduty": ("值班",),
    "kpi complaints": ("投诉",),
    "meeting set": ("设置", "安排"),
    "meeting show": ("查看",),
    "meeting update": ("汇报",),
    "meeting minutes": ("纪要", "记纪要"),
    "meeting notes": ("查看纪要", "会议记录"),
    "action done": ("完成",),
    "action list": ("列表", "清单"),
    "review show": ("查看",),
    "review status": ("进度", "状态"),
    "review self": ("自评",),
    "review submit": ("提交",),
    "review score": ("评分", "打分"),
    "review send": ("送审",),
    "review approve": ("审核", "通过"),
    "review return": ("退回",),
    "review appeal": ("申诉",),
    "review rule": ("裁决",),
    "review cycles": ("周期",),
    "review template": ("模板",),
    "review weights": ("权重",),
    "holiday add": ("添加", "放假"),
    "holiday workday": ("调休", "上班"),
    "holiday remove": ("删除", "移除"),
    "holiday list": ("列表", "查看"),
    "project list": ("列表", "清单"),
    "project show": ("查看", "档案"),
    "project plan": ("计划",),
    "project change": ("变更", "计划变更"),
    "project done": ("完成",),
    "project update": ("进展", "汇报"),
    "project cost": ("费用", "成本"),
    "project risk": ("风险",),
    "project progress": ("进度",),
    "project accept": ("验收",),
    "project channel": ("频道",),
    "collab route": ("对接人", "设置对接人"),
    "collab routes": ("对接人列表",),
    "collab assign": ("分配", "指派"),
    "collab take": ("接受", "受理"),
    "collab ask": ("提问", "询问"),
    "collab reply": ("回复", "反馈"),
    "collab accept": ("验收", "确认"),
    "collab rectify": ("整改",),
    "collab show": ("查看",),
    "collab list": ("列表", "清单"),
    "risk set": ("设置", "标记"),
    "risk list": ("列表", "清单"),
    "risk new": ("登记", "新建", "新增"),
    "risk show": ("查看",),
    "risk follow": ("跟进", "跟踪"),
    "risk close": ("关闭",),
    "risk thresholds": ("阈值", "预警阈值"),
    "kpi risk": ("风险",),
    "kpi targets": ("目标", "任务"),
    "target set": ("设定", "设置"),
    "forecast weights": ("概率", "阶段概率"),
    "enquiry new": ("新建", "登记"),
    "enquiry reply": ("答复", "回复"),
    "enquiry list": ("列表", "清单"),
    "suggestion new": ("新建", "登记"),
    "review grades": ("等级", "绩效等级"),
}

# an argument as a Chinese reader sees it: a positional's placeholder, an option's name (each word an alias
# the option parser takes, handlers.registry.OPTION_ALIASES)
ARG_WORDS: dict[str, str] = {
    "about": "对象", "action": "操作", "amount": "金额", "annual": "年度", "annual_close_day": "年度截止日",
    "annual_self_day": "年度自评日", "appeal_days": "申诉期", "ask": "收集时间", "assignee": "处理人",
    "birthday": "生日", "budget": "预算", "by": "申请人", "cadence": "回访周期", "callback": "回访",
    "category": "类别", "chain": "审批链", "channel": "渠道", "clauses": "条款", "close_day": "截止日",
    "code": "代码", "complaint": "投诉", "contact": "联系人", "content": "内容", "contract": "合同",
    "credit": "信用", "currency": "币种", "customer": "客户", "date": "日期", "day": "星期", "days": "天数",
    "decision": "裁决", "delivery": "交货期", "department": "部门", "done": "完成", "due": "截止",
    "email": "邮箱", "end": "到", "escalate": "升级", "first": "第一天", "format": "格式", "handover": "交接人",
    "hours": "工作时间", "impact": "影响", "indicator": "指标", "industry": "行业", "intent": "意向",
    "invoice": "发票", "item": "事项", "items": "产品", "qty": "数量", "requirements": "客户要求",
    "carrier": "承运商", "tracking": "物流单号", "rectify": "整改", "order": "订单", "route": "流程",
    "kind": "提醒类别", "labels": "指标名称", "lang": "语言", "last": "最后一天",
    "lead": "商机", "level": "级别", "manager": "经理时限", "member": "成员", "monthly": "月度", "name": "名称",
    "needs": "需求", "next": "下次", "note": "备注", "nudge": "催办", "outcome": "回访结果", "owner": "负责人",
    "payment": "付款方式", "period": "考核期", "phone": "电话", "plan": "计划", "position": "地位",
    "potential": "潜力", "problems": "困难", "purpose": "目的", "quarterly": "季度", "reason": "原因",
    "record": "记录", "ref": "编号", "remind": "提醒时限", "reporters": "汇报人", "resolution": "解决时限",
    "response": "响应时限", "result": "结果", "risk": "风险", "role": "角色", "roles": "适用角色",
    "scale": "规模", "scope": "范围", "score": "分数", "self_day": "自评日", "severity": "严重程度",
    "solution": "方案", "source": "来源", "stage": "阶段", "start": "从", "step": "步骤", "supervisor": "上级",
    "template": "模板", "term": "履行期限",
    "terms": "付款条件", "milestone": "节点", "number": "号码",
    "text": "纪要", "time": "时间", "timezone": "时区", "title": "标题",
    "to": "交接人",
    "topic": "主题", "type": "类型", "until": "截至", "value": "金额", "wants": "诉求", "week": "周",
    "weights": "权重", "what": "内容", "who": "对象", "year": "年份",
    "likelihood": "可能性", "loss": "预计损失", "signed": "签约", "collected": "回款", "customers": "新客户",
    "satisfaction": "满意度", "comment": "评价", "answer": "答复", "reply_by": "回复期限", "bands": "等级分数线",
    "changes": "修改项", "request": "编号",
    "deliverable": "交付成果", "file": "归档",
    "goal": "预期目标", "question": "问题",
}

# where one field means different things in different commands
ARG_WORDS_BY_COMMAND: dict[str, dict[str, str]] = {
    "team add": {"name": "姓名"}, "team set": {"name": "姓名"}, "team invite": {"name": "姓名"},
    "team leave": {"name": "姓名"},
    "delegate": {"name": "代审人"}, "action": {"name": "姓名", "what": "事项"},
    "customer new": {"name": "客户名称"}, "review template": {"name": "模板"},
    "review weights": {"name": "模板"}, "holiday add": {"name": "节日名称"}, "holiday workday": {"name": "节日名称"},
    "complaint new": {"what": "投诉内容"}, "collab": {"what": "需要", "goal": "预期目标"}, "export": {"what": "内容"},
    "project": {"name": "项目名称", "manager": "项目经理", "team": "团队"},
    "project plan": {"title": "里程碑"}, "project change": {"title": "里程碑名称", "item": "里程碑编号"},
    "project done": {"item": "里程碑"}, "project risk": {"level": "级别"},
    "collab route": {"to": "对接人"}, "collab assign": {"to": "对接人"},
    "settings keyscore": {"value": "分数"}, "settings reminderhour": {"value": "小时"},
    "remind snooze": {"until": "推迟到"}, "complaint assign": {"member": "处理人"},
    "complaint onduty": {"member": "值班人"}, "lead new": {"step": "下一步"},
    "invoice issued": {"number": "发票号码", "date": "开票日期"}, "payment": {"date": "到账日期"},
    "settings contractterms": {"value": "要求"}, "settings overduerisk": {"value": "天数"},
    "risk new": {"response": "应对", "what": "内容", "record": "对象", "due": "期限"},
    "target set": {"period": "期间"}, "target": {"period": "期间"}, "funnel": {"period": "期间"},
    "kpi targets": {"period": "期间"}, "kpi risk": {"period": "期间"},
    "risk follow": {"risk": "编号"}, "risk close": {"risk": "编号"}, "risk show": {"risk": "编号"},
}

_HEAD = re.compile(r"\s*([/／]?)(\S+)")
_COMMAND = re.compile(r"\s*[/／]")
_ZH = re.compile(r"[\u3400-\u9fff]")


def _reverse() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    groups = {word: group for group, words in GROUP_WORDS.items() for word in words}
    subs: dict[str, dict[str, str]] = {}
    for name, words in SUB_WORDS.items():
        group, sub = name.split(" ", 1)
        for word in words:
            subs.setdefault(group, {})[word] = sub
    return groups, subs


_GROUP_OF, _SUB_OF = _reverse()


def group_word(group: str) -> str:
    """The Chinese word shown for a group (the group itself when it has none)."""
    return GROUP_WORDS.get(group, (group,))[0]


def command_words(name: str) -> str:
    """A command's words as a Chinese reader types them: `lead new` is `商机 新建`."""
    group, _sep, sub = name.partition(" ")
    shown = group_word(group)
    return f"{shown} {SUB_WORDS.get(name, (sub,))[0]}" if sub else shown


def arg_word(command: str, field: str) -> str:
    """An argument's Chinese name in a command (the field's own name when it has none)."""
    return ARG_WORDS_BY_COMMAND.get(command, {}).get(field) or ARG_WORDS.get(field, field)


def _split_head(head: str) -> tuple[str, str | None]:
    """A Chinese command word with its sub-command word written straight after it (or before it):
    `新建客户` and `客户新建` are `customer new`."""
    for word, group in _GROUP_OF.items():
        for sub_word, sub in _SUB_OF.get(group, {}).items():
            if head in (word + sub_word, sub_word + word):
                return group, sub
    return head, None


def canonical(line: str) -> str:
    """A command line with its Chinese command and sub-command words replaced by bizbot's own (everything
    after them, arguments and quotes, as typed). Lines in bizbot's own words, and lines that are no command
    (no slash in front: an answer to a question), come back unchanged."""
    if not _COMMAND.match(line):
        return line
    m = _HEAD.match(line)
    if not m or not _ZH.search(line, 0, m.end() + 16):
        return line
    slash, head = m.group(1), m.group(2)
    name, at, bot = head.partition("@")
    sub: str | None = None
    if name.lower() in GROUP_WORDS:
        group = name.lower()
    elif name in _GROUP_OF:
        group = _GROUP_OF[name]
    else:
        group, sub = _split_head(name)
        if sub is None:
            return line
    rest = line[m.end():]
    if sub is None:
        nxt = _HEAD.match(rest)
        if nxt and not nxt.group(1) and nxt.group(2) in _SUB_OF.get(group, {}):
            sub = _SUB_OF[group][nxt.group(2)]
            rest = rest[nxt.end():]
    return f"{slash}{group}{at}{bot}{' ' + sub if sub else ''}{rest}"
