"""crmctl: operate the mesh from a terminal.

crmctl run                 the whole mesh on embedded servers, with the demo inbox
crmctl send ...            publish an e-mail event (flags, or a .json/.eml file)
crmctl follow              print outcomes as they are published
crmctl job show JOB_ID     one job and its outcome
crmctl job list            recent jobs
crmctl status              health of every service (exit 1 when any is not serving)
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from datetime import date
from pathlib import Path
from typing import Any

import grpc
import nats
from google.protobuf import json_format
from grpc_health.v1 import health_pb2, health_pb2_grpc
from nats.js.api import DeliverPolicy
from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from rich.console import Console

from crm.v1 import orchestrator_pb2, orchestrator_pb2_grpc
from crmctl import outcomes
from crmctl.events import EmailInput, load_file, publish_email
from services.common.nats_client import connect_nats
from services.common.server import client_channel
from services.common.settings import GrpcClientSettings

console = Console()


class CtlSettings(BaseSettings):
    """Where crmctl finds the mesh (environment variables, overridable by flags). NATS
    authentication and TLS (NATS_USER, NATS_TLS_CA_FILE...) and gRPC TLS (GRPC_TLS_CA_FILE...)
    are read from the environment too (services/common/settings.py)."""

    model_config = SettingsConfigDict(env_prefix="", extra="ignore")

    nats_url: str = Field("nats://127.0.0.1:4222", description="NATS server.")
    classifier_address: str = "127.0.0.1:50051"
    product_address: str = "127.0.0.1:50052"
    delivery_address: str = "127.0.0.1:50053"
    memory_address: str = "127.0.0.1:50054"
    orchestrator_address: str = "127.0.0.1:50055"

    def addresses(self) -> dict[str, str]:
        """Service name to host:port."""
        return {
            "classifier": self.classifier_address,
            "product": self.product_address,
            "delivery": self.delivery_address,
            "memory": self.memory_address,
            "orchestrator": self.orchestrator_address,
        }


async def follow(
    nats_url: str,
    *,
    job_ids: set[str] | None = None,
    count: int = 0,
    timeout: float = 0,
    json_out: bool = False,
) -> int:
    """Prints outcomes as they are published; stops after `count` (or the given jobs)."""
    nc = await connect_nats(nats_url, name="crmctl")
    js = nc.jetstream()
    seen = 0
    done = asyncio.Event()
    waiting = set(job_ids or ())

    async def on_msg(msg: Any) -> None:
        nonlocal seen
        event = outcomes.decode(msg.subject, msg.data)
        if job_ids is not None and event.job_id not in job_ids:
            return
        if json_out:
            print(
                json.dumps({"subject": msg.subject, "event": json_format.MessageToDict(event)}),
                flush=True,
            )
        else:
            console.print(outcomes.render(msg.subject, msg.data))
        seen += 1
        waiting.discard(event.job_id)
        if (count and seen >= count) or (job_ids is not None and not waiting):
            done.set()

    sub = await js.subscribe(
        "crm.v1.job.>", cb=on_msg, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW
    )
    try:
        if timeout:
            await asyncio.wait_for(done.wait(), timeout)
        else:
            await done.wait()
    except TimeoutError:
        console.print(
            f"[yellow]no outcome within {timeout:g}s for: {', '.join(sorted(waiting)) or '-'}[/yellow]"
        )
        return 1
    finally:
        await sub.unsubscribe()
        await nc.close()
    return 0


async def send(settings: CtlSettings, item: EmailInput, wait: float) -> int:
    """Publishes one e-mail; with `wait`, prints its outcome."""
    nc = await connect_nats(settings.nats_url, name="crmctl")
    try:
        waiter = (
            asyncio.create_task(follow(settings.nats_url, job_ids={item.job_id}, timeout=wait))
            if wait
            else None
        )
        if waiter:
            await asyncio.sleep(0.3)  # let the follower subscribe before publishing
        seq = await publish_email(nc.jetstream(), item)
        console.print(
            f"published job [bold]{item.job_id}[/bold] (case {item.case_id}, stream sequence {seq})"
        )
    finally:
        await nc.close()
    return await waiter if waiter else 0


async def status(settings: CtlSettings) -> int:
    """Checks every service's standard health; 1 when any is not SERVING."""
    failures = 0
    for name, address in settings.addresses().items():
        async with client_channel(address, GrpcClientSettings().client_tls) as channel:
            try:
                reply = await health_pb2_grpc.HealthStub(channel).Check(
                    health_pb2.HealthCheckRequest(), timeout=2
                )
                state = health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)
            except grpc.aio.AioRpcError as exc:
                state = f"unreachable ({exc.code().name})"
        ok = state == "SERVING"
        failures += 0 if ok else 1
        console.print(f"{name:<13} {address:<22} [{'green' if ok else 'red'}]{state}[/]")
    return 1 if failures else 0


async def job_show(settings: CtlSettings, job_id: str, json_out: bool) -> int:
    """Prints one job and its outcome."""
    tls = GrpcClientSettings().client_tls
    async with client_channel(settings.orchestrator_address, tls) as channel:
        stub = orchestrator_pb2_grpc.OrchestratorServiceStub(channel)
        try:
            reply = await stub.GetJob(orchestrator_pb2.GetJobRequest(job_id=job_id), timeout=5)
        except grpc.aio.AioRpcError as exc:
            console.print(f"[red]{exc.code().name}: {exc.details()}[/red]")
            return 1
    job = reply.job
    if json_out:
        print(json_format.MessageToJson(job))
        return 0
    state = orchestrator_pb2.JobState.Name(job.state).removeprefix("JOB_STATE_").lower()
    console.print(
        f"job {job.job_id}  case {job.case_id}  customer {job.customer_id}  state [bold]{state}[/bold]"
        f"  deliveries {job.delivery_attempts}  published {'yes' if job.outcome_published else 'no'}"
    )
    which = job.WhichOneof("outcome")
    if which:
        subject = {
            "draft_ready": outcomes.DRAFT_READY,
            "manual_handling": outcomes.MANUAL_HANDLING,
            "job_failed": outcomes.JOB_FAILED,
        }[which]
        console.print(outcomes.render(subject, getattr(job, which).SerializeToString()))
    return 0


async def job_list(settings: CtlSettings, case_id: str, limit: int) -> int:
    """Prints recent jobs, newest first."""
    tls = GrpcClientSettings().client_tls
    async with client_channel(settings.orchestrator_address, tls) as channel:
        stub = orchestrator_pb2_grpc.OrchestratorServiceStub(channel)
        reply = await stub.ListJobs(
            orchestrator_pb2.ListJobsRequest(case_id=case_id, page_size=limit), timeout=5
        )
    for job in reply.jobs:
        state = orchestrator_pb2.JobState.Name(job.state).removeprefix("JOB_STATE_").lower()
        topic = (
            outcomes.topic_name(job.draft_ready.classification.topic)
            if job.HasField("draft_ready")
            else ""
        )
        console.print(
            f"{job.create_time.ToDatetime():%Y-%m-%d %H:%M:%S}  {job.job_id:<44} {state:<16} {topic}"
        )
    return 0


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="crmctl", description="Operate the CRM mail-agent mesh.")
    p.add_argument("--nats-url", help="NATS server (default: $NATS_URL or nats://127.0.0.1:4222)")
    sub = p.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="start the whole mesh on embedded servers with the demo inbox")
    run.add_argument(
        "--state-dir", type=Path, default=Path(".state"), help="where servers keep data and logs"
    )
    run.add_argument(
        "--today", type=date.fromisoformat, help="pin 'today' (YYYY-MM-DD) for policy and demo data"
    )
    run.add_argument("--no-inbox", action="store_true", help="do not publish the demo inbox")

    s = sub.add_parser("send", help="publish an e-mail event")
    s.add_argument("--file", type=Path, help=".json (EmailReceived fields) or .eml file")
    s.add_argument("--customer", type=int, help="authenticated customer id")
    s.add_argument("--case", dest="case_id", help="case id (default: a new case)")
    s.add_argument("--job-id", help="job id (default: a new one)")
    s.add_argument("--from", dest="sender_address", help="sender e-mail address")
    s.add_argument("--subject")
    s.add_argument("--body")
    s.add_argument(
        "--wait", type=float, default=30.0, help="seconds to wait for the outcome (0: don't)"
    )

    f = sub.add_parser("follow", help="print outcomes as they are published")
    f.add_argument("--count", type=int, default=0, help="stop after this many outcomes")
    f.add_argument("--json", action="store_true", help="one JSON object per line")

    job = sub.add_parser("job", help="look jobs up")
    job_sub = job.add_subparsers(dest="job_command", required=True)
    show = job_sub.add_parser("show", help="one job with its outcome")
    show.add_argument("job_id")
    show.add_argument("--json", action="store_true")
    lst = job_sub.add_parser("list", help="recent jobs")
    lst.add_argument("--case", default="", help="only this case")
    lst.add_argument("--limit", type=int, default=20)

    sub.add_parser("status", help="health of every service")

    dlq = sub.add_parser("dlq", help="events the orchestrator gave up on (dead letters)")
    dlq_sub = dlq.add_subparsers(dest="dlq_command", required=True)
    dl = dlq_sub.add_parser("list", help="the dead letters with where they came from and why")
    dl.add_argument("--json", action="store_true", help="one JSON object per line")
    dr = dlq_sub.add_parser("replay", help="publish dead letters again on their subjects")
    dr.add_argument("sequences", nargs="*", type=int, help="dead-letter sequence numbers")
    dr.add_argument("--all", action="store_true", help="every dead letter")

    rp = sub.add_parser("report", help="approval, edits, thumbs and time to decision")
    rp.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5433/crm",
        help="PostgreSQL with the orchestrator schema (default: make run's)",
    )

    fb = sub.add_parser("feedback", help="reviewers' decisions as data")
    fb_sub = fb.add_subparsers(dest="feedback_command", required=True)
    fx = fb_sub.add_parser("export", help="decisions with vouched labels as eval cases")
    fx.add_argument("--out", type=Path, required=True, help="JSON lines file to write")
    fx.add_argument(
        "--database-url",
        default="postgresql://postgres@127.0.0.1:5433/crm",
        help="PostgreSQL with the orchestrator and memory schemas (default: make run's)",
    )

    ev = sub.add_parser("eval", help="evaluate a component in-process on labelled cases")
    ev_sub = ev.add_subparsers(dest="eval_command", required=True)
    for name, what in (
        ("classify", "triage: topic and urgency"),
        ("search", "product search: every product meeting the constraints"),
        ("match", "product match: the products that fit the request"),
        ("e2e", "scenarios through the whole mesh, started on the demo data"),
    ):
        e = ev_sub.add_parser(name, help=what)
        e.add_argument("--cases", type=Path, required=True, help="JSON lines of labelled cases")
        e.add_argument(
            "--out", type=Path, required=True, help="folder for results.jsonl and metrics.json"
        )
        e.add_argument(
            "--tier", choices=["0", "llm"], default="0", help="tier 0 (local) or the LLM tier"
        )
        e.add_argument(
            "--json", action="store_true", help="print the metrics as JSON on the last line"
        )
    return p


def print_json_summary(metrics: dict[str, Any], keys: tuple[str, ...]) -> None:
    """The eval's headline figures as one JSON object on the last line of stdout."""
    summary = {k: metrics[k] for k in keys} | {"cases": metrics["cases"], "tier": metrics["tier"]}
    print(json.dumps(summary))


def _email_from_args(args: argparse.Namespace) -> EmailInput:
    fields: dict[str, Any] = load_file(args.file) if args.file else {}
    for name in ("customer_id", "case_id", "job_id", "sender_address", "subject", "body"):
        value = getattr(args, "customer" if name == "customer_id" else name, None)
        if value is not None:
            fields[name] = value
    return EmailInput(**fields)


def main(argv: list[str] | None = None) -> None:
    """Entry point of the crmctl console script."""
    args = _parser().parse_args(argv)
    settings = CtlSettings(**({"nats_url": args.nats_url} if args.nats_url else {}))
    try:
        if args.command == "run":
            from crmctl.run import run_demo

            code = asyncio.run(
                run_demo(args.state_dir.resolve(), args.today, publish_inbox=not args.no_inbox)
            )
        elif args.command == "send":
            code = asyncio.run(send(settings, _email_from_args(args), args.wait))
        elif args.command == "follow":
            code = asyncio.run(follow(settings.nats_url, count=args.count, json_out=args.json))
        elif args.command == "job" and args.job_command == "show":
            code = asyncio.run(job_show(settings, args.job_id, args.json))
        elif args.command == "job":
            code = asyncio.run(job_list(settings, args.case, args.limit))
        elif args.command == "dlq" and args.dlq_command == "list":
            from crmctl.dlq import list_dead_letters

            asyncio.run(list_dead_letters(settings.nats_url, console, json_out=args.json))
            code = 0
        elif args.command == "dlq":
            from crmctl.dlq import replay

            if not args.sequences and not args.all:
                console.print("name the dead letters to replay (see `crmctl dlq list`), or --all")
                code = 2
            else:
                count = asyncio.run(
                    replay(settings.nats_url, None if args.all else args.sequences, console)
                )
                console.print(f"{count} dead letter(s) replayed")
                code = 0
        elif args.command == "report":
            from crmctl.report import report

            read = asyncio.run(report(args.database_url, console))
            console.print(f"{read} decision(s) read")
            code = 0
        elif args.command == "feedback":
            from crmctl.feedback import export

            written, skipped = asyncio.run(export(args.database_url, args.out))
            console.print(
                f"wrote {written} labelled case(s) to {args.out}; left out {skipped} "
                "decision(s) whose labels no reviewer confirmed or corrected"
            )
            code = 0
        elif args.command == "eval" and args.eval_command == "e2e":
            from crmctl.evals import e2e

            metrics = asyncio.run(e2e.run(args.cases, args.out, args.tier, args.json, console))
            if args.json:
                print_json_summary(
                    metrics, ("action_precision", "action_recall", "scenario_pass_rate")
                )
            code = 0
        elif args.command == "eval" and args.eval_command in ("search", "match"):
            from crmctl.evals import product

            metrics = asyncio.run(
                product.run(args.eval_command, args.cases, args.out, args.tier, args.json, console)
            )
            if args.json:
                print_json_summary(
                    metrics, ("exact_set_match", "precision", "recall", "decline_accuracy")
                )
            code = 0
        elif args.command == "eval":
            from crmctl.evals import classify

            metrics = asyncio.run(
                classify.run(
                    args.cases, args.out, "llm" if args.tier == "llm" else "0", args.json, console
                )
            )
            if args.json:
                print_json_summary(metrics, ("topic_accuracy", "urgent_precision", "urgent_recall"))
            code = 0
        else:
            code = asyncio.run(status(settings))
    except ValidationError as exc:
        console.print(f"[red]invalid input:[/red] {exc}")
        code = 2
    except (OSError, nats.errors.NoServersError) as exc:
        console.print(f"[red]cannot reach the mesh: {exc}[/red]")
        code = 1
    except KeyboardInterrupt:
        code = 130
    sys.exit(code)
