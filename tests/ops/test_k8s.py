"""deploy/k8s: every manifest valid against the Kubernetes schemas (kubernetes-validate, strict), and what an
operator relies on holds: two replicas on PostgreSQL, probes, a migration step, a disruption budget, requests,
credentials only from the Secret."""
from __future__ import annotations

from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from bot.metrics import bizbot_version
from bot.settings import Settings

pytestmark = pytest.mark.fast

K8S = Path(__file__).resolve().parents[2] / "deploy" / "k8s"
VERSION = kubernetes_validate.latest_version()


def manifests() -> dict[str, dict]:
    found = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            found[doc["kind"]] = doc
    return found


@pytest.mark.parametrize("path", sorted(K8S.glob("*.yaml")), ids=lambda p: p.name)
def test_each_manifest_is_valid(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
        kubernetes_validate.validate(doc, VERSION, strict=True)


def test_the_validator_refuses_a_broken_manifest() -> None:
    deployment = manifests()["Deployment"]
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "two"}}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, VERSION, strict=True)


def test_what_the_deployment_promises() -> None:
    found = manifests()
    deployment, pdb, secret, config = found["Deployment"], found["PodDisruptionBudget"], found["Secret"], \
        found["ConfigMap"]
    spec = deployment["spec"]
    assert spec["replicas"] >= 2
    pod = spec["template"]["spec"]
    (server,) = pod["containers"]
    assert server["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert server["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert server["resources"]["requests"]["cpu"] and server["resources"]["requests"]["memory"]
    assert [c["args"] for c in pod["initContainers"]] == [["db", "upgrade"]]
    assert found["Job"]["spec"]["template"]["spec"]["containers"][0]["args"] == ["db", "upgrade"]
    assert pdb["spec"]["selector"]["matchLabels"].items() <= spec["template"]["metadata"]["labels"].items()
    assert secret["stringData"]["BIZBOT_DATABASE_URL"].startswith("postgresql://")
    for container in [server, *pod["initContainers"]]:
        assert {"secretRef": {"name": secret["metadata"]["name"]}} in container["envFrom"]
        assert container["image"].endswith(f":{bizbot_version()}")  # the manifests name this version's image
    # nothing secret in the ConfigMap; everything the Secret holds is a setting bizbot reads
    assert not [name for name in config["data"] if any(w in name for w in ("TOKEN", "SECRET", "DATABASE_URL"))]
    known = {f.validation_alias or f"BIZBOT_{name.upper()}" for name, f in Settings.model_fields.items()}
    extra = {"SENTRY_DSN", "OTEL_EXPORTER_OTLP_ENDPOINT"}
    assert set(secret["stringData"]) | set(config["data"]) <= known | extra
