"""The image and compose: every setting passed through, restart policies, an .env.example without secrets,
the Chinese charts' font in the package the image installs."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from bot.settings import Settings

pytestmark = pytest.mark.fast

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
OPTIONAL = {"OTEL_EXPORTER_OTLP_ENDPOINT", "SENTRY_DSN"}
IMAGE_SETS = {"BIZBOT_HTTP_HOST", "BIZBOT_HTTP_PORT"}  # where the container listens: fixed by the image


def variables() -> set[str]:
    return ({f.validation_alias or f"BIZBOT_{name.upper()}" for name, f in Settings.model_fields.items()}
            | OPTIONAL) - IMAGE_SETS


def test_compose_passes_every_setting_and_restarts() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    services = compose["services"]
    assert {s.get("restart") for s in services.values()} == {"unless-stopped"}
    assert variables() <= set(services["bizbot"]["environment"])


def test_env_example_names_every_setting_and_holds_no_secret() -> None:
    text = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    values = dict(line.split("=", 1) for line in text.splitlines() if line and not line.startswith("#"))
    assert variables() - {"BIZBOT_DATABASE_URL"} <= set(values)  # compose makes the URL from the password
    secret = re.compile(r"TOKEN|SECRET|PASSWORD|DSN")
    assert {name: value for name, value in values.items() if secret.search(name) and value} == {}


def test_dockerfile_is_multi_stage_pinned_and_locked() -> None:
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    bases = re.findall(r"^FROM (\S+)", text, re.M)
    assert len(bases) == 2 and all(re.fullmatch(r"python:\d+\.\d+\.\d+-slim-\w+(@sha256:[0-9a-f]{64})?", b)
                                   for b in bases)
    assert text.count("-c constraints.txt") + text.count("-c /tmp/constraints.txt") == 2
    assert "postgresql-client" in text
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8")
    assert "**/.env" in ignored


def test_the_cjk_font_is_package_data() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    assert '"domain.reporting" = ["fonts/*.otf"' in pyproject
    assert list((ROOT / "domain" / "reporting" / "fonts").glob("*.otf"))
