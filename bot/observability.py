"""Opt-in tracing (OpenTelemetry, OTEL_EXPORTER_OTLP_ENDPOINT) and error reporting (Sentry, SENTRY_DSN).

Both are off unless their variable is set, and neither library is a dependency: `pip install
'bizbot[observability]'` adds them. Each is imported only when configured (nothing is loaded, nothing sends
anything otherwise); configured without its library installed, `bizbot serve` says so in one line and runs
on without it.
"""
from __future__ import annotations

import logging

from bot.settings import Settings

log = logging.getLogger(__name__)
MISSING = "{what} is configured ({variable}) but its library is not installed: pip install 'bizbot[observability]'"


def enable(settings: Settings) -> list[str]:
    """Turn on what is configured; what was turned on ("tracing", "errors")."""
    enabled = []
    if settings.otel_exporter_otlp_endpoint and _tracing(settings.otel_exporter_otlp_endpoint):
        enabled.append("tracing")
    if settings.sentry_dsn is not None and _errors(settings.sentry_dsn.get_secret_value()):
        enabled.append("errors")
    return enabled


def _tracing(endpoint: str) -> bool:
    try:
        # imported only when OTEL_EXPORTER_OTLP_ENDPOINT is set: an optional extra, absent from most installs
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning(MISSING.format(what="tracing", variable="OTEL_EXPORTER_OTLP_ENDPOINT"))
        return False
    provider = TracerProvider(resource=Resource.create({"service.name": "bizbot"}))
    # the exporter reads OTEL_EXPORTER_OTLP_ENDPOINT (and the other OTEL_* variables) itself
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    log.info("tracing to %s", endpoint)
    return True


def _errors(dsn: str) -> bool:
    try:
        # imported only when SENTRY_DSN is set: an optional extra, absent from most installs
        import sentry_sdk
    except ImportError:
        log.warning(MISSING.format(what="error reporting", variable="SENTRY_DSN"))
        return False
    sentry_sdk.init(dsn=dsn, send_default_pii=False)
    log.info("errors reported to Sentry")
    return True
