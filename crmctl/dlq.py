"""`crmctl dlq list|replay`: the events the orchestrator gave up on, and re-driving them.

A dead letter is the event exactly as it arrived, with headers saying where it came from
and why it was given up. Replaying publishes it again on its original subject, marked as
a replay: a failed job runs again (its new outcome gets a new message id), a draft is
never made twice (a job that has a draft keeps it), and a decision resumes where it
stopped (its actions still run once by their idempotency keys). The dead letter is then
removed from the stream.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import datetime

from nats.js import JetStreamContext
from nats.js.errors import NotFoundError
from rich.console import Console
from rich.table import Table

from services.common.nats_client import connect_nats
from services.orchestrator import jetstream


@dataclass(frozen=True)
class DeadLetter:
    """One dead letter, as an operator reads it."""

    sequence: int
    time: str
    subject: str
    job_id: str
    deliveries: str
    reason: str
    size: int


async def dead_letters(js: JetStreamContext, sequences: list[int] | None) -> list[DeadLetter]:
    """The dead letters still on the stream (all, or those of the given sequences)."""
    return [letter for letter, _ in await _read(js, sequences)]


async def _read(
    js: JetStreamContext, sequences: list[int] | None
) -> list[tuple[DeadLetter, bytes]]:
    """Each dead letter with the event as it arrived."""
    info = await js.stream_info(jetstream.DEAD_LETTERS_STREAM)
    first, last = info.state.first_seq, info.state.last_seq
    wanted = sequences if sequences is not None else range(first, last + 1)
    found = []
    for seq in wanted:
        try:
            raw = await js.get_msg(jetstream.DEAD_LETTERS_STREAM, seq)
        except NotFoundError:
            continue  # replayed (deleted) or aged out
        headers = raw.headers or {}
        letter = DeadLetter(
            sequence=seq,
            time=_time(raw.time),
            subject=headers.get(jetstream.ORIGINAL_SUBJECT, ""),
            job_id=headers.get(jetstream.DEAD_LETTER_JOB, ""),
            deliveries=headers.get(jetstream.DELIVERIES, ""),
            reason=headers.get(jetstream.DEAD_LETTER_REASON, ""),
            size=len(raw.data or b""),
        )
        found.append((letter, raw.data or b""))
    return found


def _time(value: object) -> str:
    if isinstance(value, datetime):
        return value.isoformat(timespec="seconds")
    return str(value or "")


async def list_dead_letters(nats_url: str, console: Console, *, json_out: bool) -> int:
    """Prints the dead letters; returns how many there are."""
    nc = await connect_nats(nats_url, name="crmctl")
    try:
        letters = await dead_letters(nc.jetstream(), None)
    finally:
        await nc.close()
    if json_out:
        for letter in letters:
            print(json.dumps(asdict(letter)))
        return len(letters)
    table = Table(title=f"Dead letters ({len(letters)})")
    for column in ("seq", "time", "subject", "job", "deliveries", "reason"):
        table.add_column(column)
    for x in letters:
        table.add_row(str(x.sequence), x.time, x.subject, x.job_id, x.deliveries, x.reason)
    console.print(table)
    return len(letters)


async def replay(nats_url: str, sequences: list[int] | None, console: Console) -> int:
    """Re-drives dead letters (all when `sequences` is None); returns how many."""
    nc = await connect_nats(nats_url, name="crmctl")
    js = nc.jetstream()
    replayed = 0
    try:
        for letter, event in await _read(js, sequences):
            if not letter.subject:
                console.print(f"[red]dead letter {letter.sequence} has no original subject[/red]")
                continue
            await js.publish(
                letter.subject,
                event,
                headers={
                    # A new id: JetStream would drop the original one as a duplicate.
                    "Nats-Msg-Id": f"{letter.job_id or letter.sequence}:replay:{letter.sequence}",
                    jetstream.REPLAY: f"dead-letter-{letter.sequence}",
                },
            )
            await js.delete_msg(jetstream.DEAD_LETTERS_STREAM, letter.sequence)
            replayed += 1
            console.print(f"replayed {letter.sequence} ({letter.subject}, job {letter.job_id})")
    finally:
        await nc.close()
    return replayed
