"""Forms (Slack modals, Telegram conversations) run the same commands, with problems per field."""
from __future__ import annotations

from handlers.args import widget_of


def test_widgets_describe_how_to_ask(app) -> None:
    fields = app.registry.commands["visit"].args.model_fields
    kinds = {name: (w.kind if (w := widget_of(info)) else None) for name, info in fields.items()}
    assert kinds["customer"] == "customer" and kinds["next"] == "date" and kinds["channel"] == "choice"
    assert kinds["note"] == "longtext"
    assert ("onsite", "on-site") in widget_of(fields["channel"]).choices


def test_submit_reports_each_bad_field_and_writes_nothing(bot, app) -> None:
    bot("/customer new Acme")
    ctx = bot.console.actor_ctx()
    cmd = app.registry.commands["visit"]
    problems = app.registry.submit(ctx, cmd, {"customer": "", "next": "someday", "channel": "x"})
    assert problems == {
        "customer": "Required.",
        "channel": "Unknown channel 'x'. "
                   "Choose one of: onsite (on-site), phone, email (e-mail), exhibition, online, or wechat (WeChat).",
        "next": "Cannot read 'someday' as a date. Try 2026-12-15, 12.15, 15号, tomorrow, next friday, 下周五, 月底, "
                "下个月5号 or 两周后.",
    }
    assert "Customers (1)" in bot("/customer list")
    assert "No visit" not in bot("/customer show Acme")


def test_submit_runs_the_handler(bot, app) -> None:
    bot("/customer new Acme")
    ctx = bot.console.actor_ctx()
    reply = app.registry.submit(ctx, app.registry.commands["visit"],
                                {"customer": "Acme", "note": "hi", "next": "tomorrow"})
    assert reply.as_text() == "Visit V1 to Acme recorded (on-site). Callback CB2 scheduled for Nov 24, 2026."
    reply = app.registry.submit(ctx, app.registry.commands["visit"], {"customer": "Nope", "note": "hi"})
    assert reply.error and "No customer matches 'Nope'" in reply.text
