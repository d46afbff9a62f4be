"""A callback records how the customer was reached, WeChat included, in the words people use."""
from __future__ import annotations

from sqlalchemy import select

from bot.bootstrap import App
from domain.store.models import Callback


def test_a_callback_is_done_by_wechat_and_says_so(bot, app: App) -> None:
    bot("/customer new Acme")
    out = bot('/callback done CB1 result="wants a quote" channel=wechat')
    assert "Callback CB1 with Acme recorded." in out and "Reached by WeChat." in out
    bot("/customer new 华为", "/settings lang zh")
    out = bot('/callback done CB2 result="客户满意" 渠道=微信')
    assert "微信" in out and "WeChat" not in out
    with app.uow() as uow:
        done = select(Callback.channel).where(Callback.status == "done").order_by(Callback.id)
        assert list(uow.session.scalars(done)) == ["wechat", "wechat"]


def test_a_callback_without_a_channel_keeps_none_and_a_wrong_one_changes_nothing(bot, app: App) -> None:
    bot("/customer new Acme")
    out = bot('/callback done CB1 result="ok" channel=pigeon')
    assert "pigeon" in out and "recorded" not in out
    bot('/callback done CB1 result="ok"')
    with app.uow() as uow:
        cb = uow.session.scalar(select(Callback).where(Callback.number == 1))
        assert cb is not None and cb.status == "done" and cb.channel is None
