"""`crmctl run`: the whole mesh on embedded servers, the demo inbox, drafts as they arrive."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import time
import uuid
from datetime import date
from importlib import resources
from pathlib import Path

import nats
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js.api import DeliverPolicy
from rich.console import Console

from crmctl import outcomes
from crmctl.demo.orchestrator import DEMO_PASSWORD, DEMO_REVIEWER
from crmctl.events import EmailInput, publish_email
from crmctl.postgres_folders import PostgresFolderError
from crmctl.stack import SERVICES, Stack, StackConfig

console = Console()


def demo_inbox(run_tag: str) -> list[EmailInput]:
    """The demo e-mails, with job and case ids unique to this run so every run drafts anew."""
    raw = json.loads(resources.files("crmctl.demo").joinpath("demo_inbox.json").read_text())
    items = []
    for n, entry in enumerate(raw, start=1):
        entry = dict(entry)
        entry.pop("note", None)
        entry["job_id"] = f"demo-{run_tag}-{n:02d}"
        entry["case_id"] = f"demo-{run_tag}-case-{entry.pop('case', n)}"
        items.append(EmailInput(**entry))
    return items


async def run_demo(state_dir: Path, today: date | None, *, publish_inbox: bool) -> int:
    """Starts everything, publishes the demo inbox, prints outcomes until Ctrl-C."""
    started = time.monotonic()
    config = StackConfig(
        state_dir=state_dir,
        nats_url=os.environ.get("NATS_URL") or None,
        database_url=os.environ.get("DATABASE_URL") or None,
        today=today,
    )
    stack = Stack(config)
    # SIGTERM and SIGHUP stop the mesh as Ctrl-C does: the servers run in their own
    # sessions, so nothing else would stop them.
    current = asyncio.current_task()
    assert current is not None
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        loop.add_signal_handler(sig, current.cancel)
    console.print(f"[bold]Starting the mesh[/bold] (state and logs in {config.state_dir})")
    nc: NATS | None = None
    try:
        await stack.start()
        console.print(
            f"nats {stack.nats_url}   postgres {stack.superuser_dsn}   "
            + "   ".join(f"{s.name} {stack.address(s.name)}" for s in SERVICES)
        )
        console.print(f"all services SERVING after {time.monotonic() - started:.1f}s")
        console.print(
            f"[bold]Review console[/bold] {stack.console_url}   "
            f"sign in as [bold]{DEMO_REVIEWER}[/bold] / [bold]{DEMO_PASSWORD}[/bold]"
        )
        nc = await nats.connect(stack.nats_url)
        js = nc.jetstream()
        first_draft_at: float | None = None
        remaining: set[str] = set()

        async def on_outcome(msg: Msg) -> None:
            nonlocal first_draft_at
            console.print(outcomes.render(msg.subject, msg.data))
            if first_draft_at is None:
                first_draft_at = time.monotonic() - started
                console.print(
                    f"[dim]first outcome {first_draft_at:.1f}s after `crmctl run` started[/dim]"
                )
            remaining.discard(outcomes.decode(msg.subject, msg.data).job_id)
            if publish_inbox and not remaining:
                console.print(
                    "\n[bold green]Demo inbox done.[/bold green] The mesh keeps running: try\n"
                    "  .venv/bin/crmctl send --customer 2 --from dan.okafor@mail.example.net "
                    "--subject 'In stock?' --body 'Do you have Adidas Ultraboost in size 10?'\n"
                    "  .venv/bin/crmctl status;  .venv/bin/crmctl job list;  .venv/bin/crmctl follow\n"
                    "Ctrl-C stops everything."
                )

        await js.subscribe(
            "crm.v1.job.>", cb=on_outcome, ordered_consumer=True, deliver_policy=DeliverPolicy.NEW
        )
        if publish_inbox:
            items = demo_inbox(uuid.uuid4().hex[:6])
            remaining.update(i.job_id for i in items)
            for item in items:
                await publish_email(js, item)
            console.print(f"published {len(items)} demo e-mails")
        await asyncio.Event().wait()  # until Ctrl-C
    except asyncio.CancelledError:
        pass
    except PostgresFolderError as exc:
        console.print(f"[red]cannot start PostgreSQL:[/red] {exc}")
        return 1
    finally:
        # Stop first: the terminal (or a pipe) may already be gone when we get here.
        if nc is not None:
            with contextlib.suppress(Exception):
                await nc.close()
        with contextlib.suppress(OSError):
            console.print("[bold]Stopping...[/bold]")
        await stack.stop()
        with contextlib.suppress(OSError):
            console.print("stopped")
    return 0
