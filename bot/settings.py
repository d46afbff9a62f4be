"""Settings: the only reader of the environment (and of `.env`)."""
from __future__ import annotations

import re
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from domain.delivery.retention import Retention
from domain.kernel.i18n import normalize_locale
from domain.store.engine import normalize_url

FEISHU_DOMAINS = {"feishu": "https://open.feishu.cn", "lark": "https://open.larksuite.com"}
LOG_LEVELS = ("debug", "info", "warning", "error")
LOG_FORMATS = ("auto", "json", "text")
_SECRET_NAME = re.compile(r"token|secret|password|passwd|credential|private_key|api_key", re.IGNORECASE)


class ConfigError(Exception):
    """A bad setting: the message names the variable and why, in one line."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="BIZBOT_", env_file=".env", extra="ignore", env_ignore_empty=True,
                                      populate_by_name=True)

    database_url: str = "sqlite:///./bizbot.db"
    locale: str = "en"
    timezone: str = "Asia/Shanghai"
    admins: str = ""
    # false: a new group or workspace becomes a department only for BIZBOT_ADMINS or with a `bizbot enrol` code
    open_enrolment: bool = False
    http_host: str = "127.0.0.1"
    http_port: int = Field(8080, ge=1, le=65535)
    sweep_seconds: float = Field(5.0, gt=0, le=300)
    # the outbox is sent by this many threads at once per replica (within the platforms' limits)
    send_threads: int = Field(64, ge=1, le=256)
    sweep_batch: int = Field(200, ge=1, le=5000)  # due items a sweep transaction fires, at most
    sweep_batches: int = Field(10, ge=1, le=1000)  # sweep transactions a tick, before the tick yields
    # the scheduler's lease (bot.leader): a standby takes over at most this long after the leader's last
    # renewal; unset, 30 seconds (or six sweeps, if longer)
    lease_seconds: float | None = Field(None, ge=3, le=3600)
    log_level: str = "info"  # debug also shows every library's HTTP chatter (secrets redacted all the same)
    log_format: str = "auto"  # json, text, or auto: text on a terminal, JSON lines otherwise (bot.logs)
    cpu: str = "auto"  # the CPU `bizbot serve` keeps to: auto (one, on SQLite), off, or a CPU number
    backup_dir: str | None = None  # with it, `bizbot serve` writes a backup a day there (bot.backup)
    backup_keep: int = Field(7, ge=1, le=3650)
    backup_hour: int = Field(2, ge=0, le=23)  # local (BIZBOT_TIMEZONE) hour from which the day's backup is due
    # days kept before the hourly purge deletes them (domain.delivery.retention); 0 keeps them for ever
    retention_due_days: int = Field(30, ge=0, le=36500)  # due items fired or cancelled
    retention_outbox_days: int = Field(30, ge=0, le=36500)  # messages sent, merged or dropped
    retention_events_days: int = Field(7, ge=0, le=36500)  # platforms' event records (2 at least, or 0)
    retention_audit_days: int = Field(0, ge=0, le=36500)  # the audit log, unless a department has its own policy

    telegram_bot_token: SecretStr | None = Field(None, validation_alias="TELEGRAM_BOT_TOKEN")
    telegram_webhook_url: str | None = Field(None, validation_alias="TELEGRAM_WEBHOOK_URL")
    telegram_webhook_secret: SecretStr | None = Field(None, validation_alias="TELEGRAM_WEBHOOK_SECRET")
    telegram_api_url: str = Field("https://api.telegram.org", validation_alias="TELEGRAM_API_URL")

    # opt-in tracing and error reporting (bot.observability; the `observability` extra)
    otel_exporter_otlp_endpoint: str | None = Field(None, validation_alias="OTEL_EXPORTER_OTLP_ENDPOINT")
    sentry_dsn: SecretStr | None = Field(None, validation_alias="SENTRY_DSN")

    slack_bot_token: SecretStr | None = Field(None, validation_alias="SLACK_BOT_TOKEN")
    slack_signing_secret: SecretStr | None = Field(None, validation_alias="SLACK_SIGNING_SECRET")
    slack_app_token: SecretStr | None = Field(None, validation_alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field("https://slack.com/api/", validation_alias="SLACK_API_URL")
    slack_client_id: str | None = Field(None, validation_alias="SLACK_CLIENT_ID")
    slack_client_secret: SecretStr | None = Field(None, validation_alias="SLACK_CLIENT_SECRET")

    # Feishu / Lark (bot.feishu): the app's credentials, and for the HTTP event subscription its Verification
    # Token and Encrypt Key (without them, events come over the long connection)
    feishu_app_id: str | None = Field(None, validation_alias="FEISHU_APP_ID")
    feishu_app_secret: SecretStr | None = Field(None, validation_alias="FEISHU_APP_SECRET")
    feishu_verification_token: SecretStr | None = Field(None, validation_alias="FEISHU_VERIFICATION_TOKEN")
    feishu_encrypt_key: SecretStr | None = Field(None, validation_alias="FEISHU_ENCRYPT_KEY")
    feishu_domain: str = Field("feishu", validation_alias="FEISHU_DOMAIN")

    @field_validator("feishu_domain")
    @classmethod
    def _feishu_domain(cls, value: str) -> str:
        value = value.strip()
        if value.lower() in FEISHU_DOMAINS:
            return FEISHU_DOMAINS[value.lower()]
        if not value.startswith(("http://", "https://")):
            raise ValueError("feishu, lark, or an http(s) URL such as https://open.feishu.cn")
        return value.rstrip("/")

    @property
    def feishu_enabled(self) -> bool:
        return bool(self.feishu_app_id) and self.feishu_app_secret is not None

    @property
    def feishu_http(self) -> bool:
        """Events over HTTP (POST /feishu/events) rather than the long connection."""
        return self.feishu_verification_token is not None and self.feishu_encrypt_key is not None
    # DingTalk (钉钉): the app's Client ID (AppKey) and Client Secret (AppSecret); Stream mode unless
    # DINGTALK_MODE=http (the robot's HTTP callback at /dingtalk/events)
    dingtalk_client_id: str | None = Field(None, validation_alias="DINGTALK_CLIENT_ID")
    dingtalk_client_secret: SecretStr | None = Field(None, validation_alias="DINGTALK_CLIENT_SECRET")
    dingtalk_mode: str = Field("stream", validation_alias="DINGTALK_MODE")
    dingtalk_robot_code: str | None = Field(None, validation_alias="DINGTALK_ROBOT_CODE")
    dingtalk_api_url: str | None = Field(None, validation_alias="DINGTALK_API_URL")

    @field_validator("slack_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://slack.com/api/")
        return value if value.endswith("/") else value + "/"

    @field_validator("telegram_api_url")
    @classmethod
    def _telegram_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://api.telegram.org")
        return value.rstrip("/")

    @field_validator("telegram_webhook_secret")
    @classmethod
    def _telegram_secret(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
        return value

    @field_validator("dingtalk_mode")
    @classmethod
    def _dingtalk_mode(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("stream", "http"):
            raise ValueError("stream (the default) or http")
        return value

    @field_validator("dingtalk_api_url")
    @classmethod
    def _dingtalk_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL such as https://api.dingtalk.com")
        return value.rstrip("/") if value is not None else None

    @property
    def dingtalk_enabled(self) -> bool:
        return bool(self.dingtalk_client_id) and self.dingtalk_client_secret is not None

    @property
    def telegram_enabled(self) -> bool:
        return self.telegram_bot_token is not None

    @property
    def slack_enabled(self) -> bool:
        return self.slack_signing_secret is not None and (
            self.slack_bot_token is not None or self.slack_client_id is not None
        )

    @field_validator("database_url")
    @classmethod
    def _url(cls, value: str) -> str:
        try:
            url = normalize_url(value)
        except ArgumentError:
            raise ValueError("not a database URL") from None
        if not url.startswith(("sqlite", "postgresql")):
            raise ValueError("use sqlite:///PATH or postgresql://USER@HOST/DB")
        return value

    @field_validator("log_level")
    @classmethod
    def _log_level(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in LOG_LEVELS:
            raise ValueError(f"{value!r} is not one of {', '.join(LOG_LEVELS)}")
        return value

    @field_validator("retention_events_days")
    @classmethod
    def _events(cls, value: int) -> int:
        if value == 1:
            raise ValueError("at least 2 days (platforms redeliver an event for up to a day), or 0 to keep them")
        return value

    @property
    def retention(self) -> Retention:
        return Retention(self.retention_due_days, self.retention_outbox_days, self.retention_events_days,
                         self.retention_audit_days)

    @field_validator("log_format")
    @classmethod
    def _log_format(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in LOG_FORMATS:
            raise ValueError(f"{value!r} is not one of {', '.join(LOG_FORMATS)}")
        return value

    @field_validator("lease_seconds")
    @classmethod
    def _lease(cls, value: float | None, info: ValidationInfo) -> float | None:
        sweep = info.data.get("sweep_seconds")
        if value is not None and sweep is not None and value < 3 * sweep:
            raise ValueError(f"at least three sweeps (3 × BIZBOT_SWEEP_SECONDS = {3 * sweep:g}), so the leader "
                             "renews its lease in time")
        return value

    @property
    def lease_ttl(self) -> float:
        """Seconds a scheduler lease (and a replica's heartbeat) lasts unless renewed."""
        return self.lease_seconds if self.lease_seconds is not None else max(30.0, 6 * self.sweep_seconds)

    @field_validator("cpu")
    @classmethod
    def _cpu(cls, value: str) -> str:
        value = value.strip().lower()
        if value not in ("auto", "off") and not value.isdecimal():
            raise ValueError("auto, off, or a CPU number such as 0")
        return value

    @property
    def language_chosen(self) -> bool:
        """Whether the operator chose the departments' language (BIZBOT_LOCALE); if not, a department speaks
        the language of its first member (domain.kernel.i18n.first_language)."""
        return "locale" in self.model_fields_set

    @field_validator("locale")
    @classmethod
    def _locale(cls, value: str) -> str:
        lang = normalize_locale(value)
        if lang is None:
            raise ValueError(f"unknown language {value!r}; use en or zh")
        return lang

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Asia/Shanghai") from None
        return value

    @field_validator("admins")
    @classmethod
    def _admins(cls, value: str) -> str:
        for entry in filter(None, (e.strip() for e in value.split(","))):
            platform, sep, ident = entry.partition(":")
            if not sep or not ident or platform not in ("console", "slack", "telegram", "feishu", "dingtalk"):
                raise ValueError(f"{entry!r} is not PLATFORM:ID (console:NAME, slack:U123, telegram:42, "
                                 "feishu:ou_…, dingtalk:STAFFID)")
        return value

    @property
    def admin_set(self) -> frozenset[str]:
        return frozenset(e.strip() for e in self.admins.split(",") if e.strip())

    def secret_values(self) -> list[str]:
        """Every configured secret, as given: each SecretStr, any other setting named like a secret, and
        the database's password (decoded, and as written in the URL)."""
        found: list[str] = []
        for name in type(self).model_fields:
            value = getattr(self, name)
            if isinstance(value, SecretStr):
                found.append(value.get_secret_value())
            elif isinstance(value, str) and _SECRET_NAME.search(name):
                found.append(value)
        found.append(self.database_password or "")
        try:
            found.append(urlsplit(self.database_url).password or "")
        except ValueError:  # a URL SQLAlchemy reads but urllib does not: the decoded password is there
            pass
        return [value for value in dict.fromkeys(found) if value]

    @property
    def database_password(self) -> str | None:
        return make_url(self.database_url).password

    @property
    def database_shown(self) -> str:
        """BIZBOT_DATABASE_URL as it may be shown: its password hidden."""
        return make_url(self.database_url).render_as_string(hide_password=True)


def load_settings(**overrides: str) -> Settings:
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = str(err["loc"][0]) if err["loc"] else "settings"
        name = loc if loc.isupper() else "BIZBOT_" + loc.upper()
        reason = str(err["msg"]).removeprefix("Value error, ")
        raise ConfigError(f"{name}: {reason}") from None
