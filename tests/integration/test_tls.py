"""Security in transit, on real processes: a service over TLS and mutual TLS (with grpcurl,
health and reflection included), and nats-server with docs/nats-permissions.conf over TLS.

Certificates are made offline by trustme, per module; every server runs on a free port.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import nats
import pytest
import pytest_asyncio
import trustme
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.aio.client import Client as NATS

from crm.v1 import classifier_pb2, classifier_pb2_grpc, events_pb2
from crmctl.cli import follow
from crmctl.events import EmailInput, publish_email
from crmctl.stack import SERVICE_BY_NAME, ManagedProcess, free_port, wait_for_port
from services.common.nats_client import connect_nats
from services.common.server import open_channel
from services.common.settings import NatsClientSettings
from services.common.tls import ClientTls
from services.orchestrator import jetstream

pytestmark = pytest.mark.asyncio(loop_scope="session")

PROJECT_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
GRPCURL = shutil.which("grpcurl", path=str(BIN)) or "grpcurl"
NATS_PERMISSIONS = PROJECT_ROOT / "docs" / "nats-permissions.conf"
CLASSIFIER = classifier_pb2.DESCRIPTOR.services_by_name["ClassifierService"].full_name
PASSWORDS = {"crm": "crm-secret", "orchestrator": "orchestrator-secret", "operator": "op-secret"}


@dataclass(frozen=True)
class Pki:
    """PEM files of a test CA, a server certificate for 127.0.0.1 / localhost, a client
    certificate signed by the CA, and a second CA nobody trusts."""

    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    folder = tmp_path_factory.mktemp("pki")
    ca = trustme.CA()
    server = ca.issue_cert("127.0.0.1", "localhost")
    client = ca.issue_cert("orchestrator.crm.svc")
    paths = Pki(
        ca=folder / "ca.pem",
        server_cert=folder / "server.pem",
        server_key=folder / "server.key",
        client_cert=folder / "client.pem",
        client_key=folder / "client.key",
        other_ca=folder / "other-ca.pem",
    )
    ca.cert_pem.write_to_path(str(paths.ca))
    server.private_key_pem.write_to_path(str(paths.server_key))
    server.cert_chain_pems[0].write_to_path(str(paths.server_cert))
    for extra in server.cert_chain_pems[1:]:
        extra.write_to_path(str(paths.server_cert), append=True)
    client.private_key_pem.write_to_path(str(paths.client_key))
    client.cert_chain_pems[0].write_to_path(str(paths.client_cert))
    trustme.CA().cert_pem.write_to_path(str(paths.other_ca))
    return paths


# --- gRPC -------------------------------------------------------------------------------


@dataclass(frozen=True)
class TlsService:
    """A classifier process serving over TLS, and its plaintext health-only port."""

    address: str
    health_address: str


def start_classifier(env: dict[str, str], log: Path) -> tuple[ManagedProcess, TlsService]:
    port, health_port = free_port(), free_port()
    proc = ManagedProcess(
        "classifier-tls",
        SERVICE_BY_NAME["classifier"].command,
        log,
        env={**env, "GRPC_PORT": str(port), "GRPC_HEALTH_PORT": str(health_port)},
    )
    proc.start()
    wait_for_port(port, 30, proc.process)
    return proc, TlsService(f"127.0.0.1:{port}", f"127.0.0.1:{health_port}")


@pytest.fixture(scope="module")
def tls_classifier(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsService]:
    """TLS only: clients verify the server; no client certificate asked for."""
    proc, service = start_classifier(
        {"GRPC_TLS_CERT_FILE": str(pki.server_cert), "GRPC_TLS_KEY_FILE": str(pki.server_key)},
        tmp_path_factory.mktemp("tls") / "classifier.log",
    )
    try:
        yield service
    finally:
        proc.stop()


@pytest.fixture(scope="module")
def mtls_classifier(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsService]:
    """Mutual TLS: clients must present a certificate signed by the CA."""
    proc, service = start_classifier(
        {
            "GRPC_TLS_CERT_FILE": str(pki.server_cert),
            "GRPC_TLS_KEY_FILE": str(pki.server_key),
            "GRPC_TLS_CLIENT_CA_FILE": str(pki.ca),
        },
        tmp_path_factory.mktemp("mtls") / "classifier.log",
    )
    try:
        yield service
    finally:
        proc.stop()


async def health(channel: grpc.aio.Channel, timeout: float = 5) -> str:
    reply = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(), timeout=timeout
    )
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status))


async def wait_serving(channel: grpc.aio.Channel) -> None:
    """The classifier says NOT_SERVING until its model is loaded."""
    for _ in range(300):
        if await health(channel) == "SERVING":
            return
        await asyncio.sleep(0.1)
    raise AssertionError("classifier never became SERVING")


def grpcurl(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([GRPCURL, *args], capture_output=True, text=True, timeout=30)


async def test_orchestrator_channel_calls_a_tls_service(
    tls_classifier: TlsService, pki: Pki
) -> None:
    async with open_channel(tls_classifier.address, ClientTls(ca_file=str(pki.ca))) as channel:
        await wait_serving(channel)
        reply = await classifier_pb2_grpc.ClassifierServiceStub(channel).ClassifyEmail(
            classifier_pb2.ClassifyEmailRequest(
                job_id="tls", customer_id=1, body="Where is my parcel? It is late."
            ),
            timeout=10,
        )
    assert reply.classification.topic


async def test_grpcurl_reaches_health_and_reflection_over_tls(
    tls_classifier: TlsService, pki: Pki
) -> None:
    async with open_channel(tls_classifier.address, ClientTls(ca_file=str(pki.ca))) as channel:
        await wait_serving(channel)
    listed = await asyncio.to_thread(
        grpcurl, "-cacert", str(pki.ca), tls_classifier.address, "list"
    )
    assert listed.returncode == 0, listed.stderr
    assert CLASSIFIER in listed.stdout.split()
    assert "grpc.health.v1.Health" in listed.stdout.split()
    checked = await asyncio.to_thread(
        grpcurl, "-cacert", str(pki.ca), tls_classifier.address, "grpc.health.v1.Health/Check"
    )
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout) == {"status": "SERVING"}


async def test_a_tls_service_refuses_plaintext_and_untrusted_clients(
    tls_classifier: TlsService, pki: Pki
) -> None:
    async with grpc.aio.insecure_channel(tls_classifier.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as plaintext:
            await health(channel)
    assert plaintext.value.code() == grpc.StatusCode.UNAVAILABLE
    refused = await asyncio.to_thread(grpcurl, "-plaintext", tls_classifier.address, "list")
    assert refused.returncode != 0
    # A client trusting another CA does not accept the server's certificate.
    untrusted = ClientTls(ca_file=str(pki.other_ca))
    async with open_channel(tls_classifier.address, untrusted) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as unverified:
            await health(channel)
    assert unverified.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_the_health_port_answers_plaintext_probes_with_health_only(
    tls_classifier: TlsService, pki: Pki
) -> None:
    async with open_channel(tls_classifier.address, ClientTls(ca_file=str(pki.ca))) as channel:
        await wait_serving(channel)
    async with grpc.aio.insecure_channel(tls_classifier.health_address) as channel:
        assert await health(channel) == "SERVING"
        stub = classifier_pb2_grpc.ClassifierServiceStub(channel)
        with pytest.raises(grpc.aio.AioRpcError) as other:
            await stub.ClassifyEmail(classifier_pb2.ClassifyEmailRequest(job_id="x"), timeout=5)
    assert other.value.code() == grpc.StatusCode.UNIMPLEMENTED


async def test_mutual_tls_accepts_a_client_certificate_and_refuses_a_client_without_one(
    mtls_classifier: TlsService, pki: Pki
) -> None:
    with_cert = ClientTls(
        ca_file=str(pki.ca), cert_file=str(pki.client_cert), key_file=str(pki.client_key)
    )
    async with open_channel(mtls_classifier.address, with_cert) as channel:
        await wait_serving(channel)
    async with open_channel(mtls_classifier.address, ClientTls(ca_file=str(pki.ca))) as channel:
        with pytest.raises(grpc.aio.AioRpcError) as without_cert:
            await health(channel)
    assert without_cert.value.code() == grpc.StatusCode.UNAVAILABLE
    async with grpc.aio.insecure_channel(mtls_classifier.address) as channel:
        with pytest.raises(grpc.aio.AioRpcError):
            await health(channel)
    ca = ["-cacert", str(pki.ca)]
    listed = await asyncio.to_thread(
        grpcurl,
        *ca,
        "-cert",
        str(pki.client_cert),
        "-key",
        str(pki.client_key),
        mtls_classifier.address,
        "list",
    )
    assert listed.returncode == 0, listed.stderr
    assert CLASSIFIER in listed.stdout.split()
    refused = await asyncio.to_thread(grpcurl, *ca, mtls_classifier.address, "list")
    assert refused.returncode != 0


# --- NATS -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SecureNats:
    """nats-server with the users of docs/nats-permissions.conf, TLS required."""

    url: str
    ca: Path

    def user(self, name: str, password: str | None = None) -> NatsClientSettings:
        return NatsClientSettings(
            nats_user=name,
            nats_password=password if password is not None else PASSWORDS.get(name, "x"),
            nats_tls_ca_file=str(self.ca),
            nats_inbox_prefix=f"_INBOX_{name}",
        )

    def env(self, name: str) -> dict[str, str]:
        """The environment crmctl runs with as this user."""
        return {
            "NATS_URL": self.url,
            "NATS_USER": name,
            "NATS_PASSWORD": PASSWORDS[name],
            "NATS_TLS_CA_FILE": str(self.ca),
            "NATS_INBOX_PREFIX": f"_INBOX_{name}",
        }


@pytest.fixture(scope="module")
def secure_nats(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecureNats]:
    folder = tmp_path_factory.mktemp("nats")
    shutil.copy(NATS_PERMISSIONS, folder / "nats-permissions.conf")
    port = free_port()
    config = folder / "nats.conf"
    config.write_text(
        f"listen: 127.0.0.1:{port}\n"
        f"jetstream {{ store_dir: {json.dumps(str(folder / 'store'))} }}\n"
        "tls {\n"
        f"  cert_file: {json.dumps(str(pki.server_cert))}\n"
        f"  key_file: {json.dumps(str(pki.server_key))}\n"
        "  timeout: 2\n"
        "}\n"
        'include "nats-permissions.conf"\n'
    )
    binary = shutil.which("nats-server", path=str(BIN)) or "nats-server"
    proc = ManagedProcess(
        "nats-secure",
        [binary, "-c", str(config)],
        folder / "nats.log",
        env={f"NATS_{user.upper()}_PASSWORD": password for user, password in PASSWORDS.items()},
    )
    proc.start()
    try:
        wait_for_port(port, 20, proc.process)
        yield SecureNats(f"nats://127.0.0.1:{port}", pki.ca)
    finally:
        proc.stop()


@dataclass
class Client:
    """A NATS connection with the asynchronous errors the server sent it."""

    nc: NATS
    errors: list[str]


@pytest_asyncio.fixture(loop_scope="session")
async def connect(secure_nats: SecureNats) -> AsyncIterator[Any]:
    """Connects as a user of the permissions file, provisioned as the orchestrator does."""
    opened: list[NATS] = []

    async def as_user(name: str) -> Client:
        errors: list[str] = []

        async def on_error(exc: Exception) -> None:
            errors.append(str(exc))

        nc = await connect_nats(
            secure_nats.url,
            name=name,
            auth=secure_nats.user(name),
            error_cb=on_error,
            allow_reconnect=False,
            connect_timeout=3,
        )
        opened.append(nc)
        return Client(nc, errors)

    orchestrator = await as_user("orchestrator")
    await jetstream.provision(orchestrator.nc.jetstream(), LIMITS)
    yield as_user
    for nc in opened:
        await nc.close()


LIMITS = jetstream.ConsumerLimits(
    ack_wait_seconds=30, max_deliver=5, max_ack_pending=16, duplicate_window_seconds=60
)


def an_email() -> EmailInput:
    return EmailInput(
        job_id=f"job-{uuid.uuid4()}", customer_id=4, subject="late", body="Where is my parcel?"
    )


async def stored(nc: NATS, stream: str) -> int:
    return int((await nc.jetstream().stream_info(stream)).state.messages)


async def test_an_unknown_user_or_a_wrong_password_cannot_connect(secure_nats: SecureNats) -> None:
    for settings in (
        secure_nats.user("mallory", "guess"),
        secure_nats.user("crm", "wrong-password"),
        NatsClientSettings(nats_tls_ca_file=str(secure_nats.ca)),  # no credentials at all
    ):
        with pytest.raises((nats.errors.Error, OSError)):
            nc = await connect_nats(
                secure_nats.url,
                name="intruder",
                auth=settings,
                allow_reconnect=False,
                max_reconnect_attempts=0,
                connect_timeout=3,
            )
            await nc.close()


async def test_a_client_without_the_ca_cannot_connect(secure_nats: SecureNats) -> None:
    """TLS is required and the server is verified: no CA configured, no connection."""
    with pytest.raises((nats.errors.Error, OSError)):
        nc = await connect_nats(
            secure_nats.url,
            name="no-ca",
            auth=NatsClientSettings(nats_user="crm", nats_password=PASSWORDS["crm"]),
            allow_reconnect=False,
            max_reconnect_attempts=0,
            connect_timeout=3,
        )
        await nc.close()


async def test_the_crm_publishes_emails_and_the_orchestrator_cannot(connect: Any) -> None:
    crm: Client = await connect("crm")
    orchestrator: Client = await connect("orchestrator")
    before = await stored(orchestrator.nc, jetstream.EMAILS_STREAM)
    assert await publish_email(crm.nc.jetstream(), an_email()) > 0
    with pytest.raises(nats.errors.Error):
        await orchestrator.nc.jetstream().publish(
            jetstream.EMAIL_RECEIVED, an_email().to_event().SerializeToString(), timeout=1
        )
    assert any("permissions violation" in e.lower() for e in orchestrator.errors), (
        orchestrator.errors
    )
    assert await stored(orchestrator.nc, jetstream.EMAILS_STREAM) == before + 1


async def test_the_orchestrator_consumes_emails_and_publishes_outcomes_and_the_crm_cannot(
    connect: Any,
) -> None:
    crm: Client = await connect("crm")
    orchestrator: Client = await connect("orchestrator")
    js = orchestrator.nc.jetstream()
    email = an_email()
    await publish_email(crm.nc.jetstream(), email)

    # The console's live queue listens to outcomes.
    seen: asyncio.Queue[str] = asyncio.Queue()

    async def on_outcome(msg: Any) -> None:
        await seen.put(msg.subject)

    await orchestrator.nc.subscribe(jetstream.JOB_OUTCOMES, cb=on_outcome)

    sub = await js.pull_subscribe_bind(
        jetstream.ORCHESTRATOR_CONSUMER, stream=jetstream.EMAILS_STREAM
    )
    job_ids = []
    for msg in await sub.fetch(50, timeout=5):
        event = events_pb2.EmailReceived()
        event.ParseFromString(msg.data)
        job_ids.append(event.job_id)
        await msg.ack_sync()
    assert email.job_id in job_ids
    info = await js.consumer_info(jetstream.EMAILS_STREAM, jetstream.ORCHESTRATOR_CONSUMER)
    assert info.num_ack_pending == 0

    outcome = events_pb2.DraftReady(job_id=email.job_id).SerializeToString()
    ack = await js.publish(
        jetstream.DRAFT_READY, outcome, headers={"Nats-Msg-Id": f"{email.job_id}:outcome"}
    )
    assert ack.stream == jetstream.JOBS_STREAM
    assert await asyncio.wait_for(seen.get(), 5) == jetstream.DRAFT_READY
    # The CRM cannot forge an outcome.
    with pytest.raises(nats.errors.Error):
        await crm.nc.jetstream().publish(jetstream.DRAFT_READY, outcome, timeout=1)
    assert any("permissions violation" in e.lower() for e in crm.errors), crm.errors
    assert orchestrator.errors == []


async def test_the_operator_lists_and_replays_dead_letters_and_follows_outcomes_with_crmctl(
    connect: Any, secure_nats: SecureNats, monkeypatch: pytest.MonkeyPatch
) -> None:
    orchestrator: Client = await connect("orchestrator")
    js = orchestrator.nc.jetstream()
    email = an_email()
    ack = await js.publish(
        jetstream.dead_letter_subject(jetstream.EMAIL_RECEIVED),
        email.to_event().SerializeToString(),
        headers={
            "Nats-Msg-Id": f"dead:{email.job_id}",
            jetstream.ORIGINAL_SUBJECT: jetstream.EMAIL_RECEIVED,
            jetstream.ORIGINAL_SEQUENCE: "1",
            jetstream.DELIVERIES: "5",
            jetstream.DEAD_LETTER_JOB: email.job_id,
            jetstream.DEAD_LETTER_REASON: "test",
        },
    )
    env = {**os.environ, **secure_nats.env("operator")}
    crmctl = str(BIN / "crmctl")
    listed = await asyncio.to_thread(
        subprocess.run,
        [crmctl, "dlq", "list", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stdout + listed.stderr
    letters = [json.loads(line) for line in listed.stdout.splitlines() if line.startswith("{")]
    assert [x["sequence"] for x in letters if x["job_id"] == email.job_id] == [ack.seq]

    before = await stored(orchestrator.nc, jetstream.EMAILS_STREAM)
    replayed = await asyncio.to_thread(
        subprocess.run,
        [crmctl, "dlq", "replay", str(ack.seq)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "1 dead letter(s) replayed" in replayed.stdout
    assert await stored(orchestrator.nc, jetstream.EMAILS_STREAM) == before + 1

    # `crmctl follow` as the operator sees the next outcome.
    for name, value in secure_nats.env("operator").items():
        monkeypatch.setenv(name, value)
    following = asyncio.create_task(follow(secure_nats.url, count=1, timeout=10))
    await asyncio.sleep(1.0)  # let the ordered consumer start
    await js.publish(
        jetstream.JOB_FAILED, events_pb2.JobFailed(job_id=email.job_id).SerializeToString()
    )
    assert await following == 0
