"""The deployment files pass the checks their tools make: Ray's cluster launcher (`prepare_config` +
`validate_config`, what `ray up` runs) for ray-cluster.yaml and its local-provider variant, and KubeRay's RayJob
CRD schema (ray.io/v1, from github.com/ray-project/kuberay, strict: unknown fields are errors, as with
`kubectl apply --validate=strict`) for the Kubernetes manifest. Beyond the schemas: what makes them deployable
for swarm (no placeholder install, the head runs no agents, a fixed metrics port, NATS settings from synced
files or Secrets, a stop wait longer than the drain)."""

from __future__ import annotations

import copy
import gzip
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from ray.autoscaler._private.util import prepare_config, validate_config

from swarm.config import SwarmConfig

ROOT = Path(__file__).resolve().parents[2]
LAUNCHER = [ROOT / "ray-cluster.yaml", ROOT / "deploy" / "ray-cluster.local.yaml"]
RAYJOB = ROOT / "deploy" / "kuberay" / "swarm-rayjob.yaml"


def strict(schema: Any) -> Any:
    """Kubernetes prunes unknown fields; strict validation rejects them: closed objects where the CRD lists fields."""
    if isinstance(schema, dict):
        out = {k: strict(v) for k, v in schema.items()}
        if ("properties" in out and "additionalProperties" not in out
                and not out.get("x-kubernetes-preserve-unknown-fields")):
            out["additionalProperties"] = False
        return out
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


def rayjob_schema() -> dict[str, Any]:
    with gzip.open(ROOT / "tests" / "data" / "kuberay" / "rayjob-v1.schema.json.gz", "rt") as f:
        data = json.load(f)
    return strict(data["openAPIV3Schema"])


def commands(cfg: dict[str, Any], key: str) -> str:
    return "\n".join(cfg.get(key) or [])


@pytest.mark.parametrize("path", LAUNCHER, ids=lambda p: p.name)
def test_cluster_launcher_config_passes_rays_validation_and_deploys_swarm(path: Path) -> None:
    raw = yaml.safe_load(path.read_text())
    cfg = prepare_config(copy.deepcopy(raw))
    validate_config(cfg)  # raises on anything `ray up` would refuse
    setup, head, worker = commands(cfg, "setup_commands"), commands(cfg, "head_start_ray_commands"), commands(
        cfg, "worker_start_ray_commands")
    assert "example.invalid" not in path.read_text() and "pip install" in setup and "~/swarm" in setup
    assert raw["file_mounts"]["~/swarm"] == "."  # the project itself is synced and installed
    for synced in ("~/swarm.env", "~/nats.creds", "~/ray_token"):  # NATS URL/credentials and Ray's token: files
        assert synced in raw["file_mounts"]
    assert "--num-cpus=0" in head  # the head runs no agents
    for start in (head, worker):
        assert "--metrics-export-port=8080" in start and ". ~/swarm.env" in start and "RAY_AUTH_MODE=token" in start
    assert "--autoscaling-config=~/ray_bootstrap_config.yaml" in head


def test_validation_catches_a_broken_launcher_config() -> None:
    raw = yaml.safe_load(LAUNCHER[0].read_text())
    raw["available_node_types"]["worker"]["max_workers"] = "many"
    with pytest.raises(jsonschema.ValidationError):
        validate_config(prepare_config(raw))


def test_kuberay_rayjob_matches_the_crd_schema_and_deploys_swarm() -> None:
    manifest = yaml.safe_load(RAYJOB.read_text())
    schema = rayjob_schema()
    jsonschema.validate(manifest, schema)
    assert manifest["apiVersion"] == "ray.io/v1" and manifest["kind"] == "RayJob"
    spec = manifest["spec"]
    cluster = spec["rayClusterSpec"]
    assert cluster["headGroupSpec"]["rayStartParams"]["num-cpus"] == "0"
    groups = [cluster["headGroupSpec"], *cluster["workerGroupSpecs"]]
    assert all(g["rayStartParams"]["metrics-export-port"] == "8080" for g in groups)
    for g in groups:
        (container,) = g["template"]["spec"]["containers"]
        assert {"secretRef": {"name": "swarm-nats"}} in container["envFrom"]
    env = yaml.safe_load(spec["runtimeEnvYAML"])["env_vars"]
    grace = SwarmConfig.load(ROOT / "configs" / "swarm.yaml").orchestration.grace_period_s
    assert int(env["RAY_JOB_STOP_WAIT_TIME_S"]) > grace
    assert spec["entrypoint"] == "python -m swarm.runtime --address auto"
    assert cluster["authOptions"] == {"mode": "token"}
    image = cluster["headGroupSpec"]["template"]["spec"]["containers"][0]["image"]
    assert f"-t {image}" in RAYJOB.read_text()  # the image is the one the comment says how to build


def test_the_crd_schema_catches_a_misspelt_field() -> None:
    manifest = yaml.safe_load(RAYJOB.read_text())
    manifest["spec"]["rayClusterSpec"]["workerGroupSpecs"][0]["maxReplica"] = 8
    with pytest.raises(jsonschema.ValidationError, match="maxReplica"):
        jsonschema.validate(manifest, rayjob_schema())
    manifest = yaml.safe_load(RAYJOB.read_text())
    manifest["spec"]["rayClusterSpec"]["authOptions"]["mode"] = "password"
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(manifest, rayjob_schema())
