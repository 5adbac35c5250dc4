"""Readable views of job outcomes for the terminal (rich)."""

from __future__ import annotations

from rich.console import Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from crm.v1 import delivery_pb2, events_pb2, product_pb2, types_pb2
from services.orchestrator.replies import full_name

DRAFT_READY = "crm.v1.job.draft_ready"
MANUAL_HANDLING = "crm.v1.job.manual_handling"
JOB_FAILED = "crm.v1.job.failed"


def _enum(name: str) -> str:
    return name.split("_", 2)[-1].lower() if name else ""


def decode(
    subject: str, payload: bytes
) -> events_pb2.DraftReady | events_pb2.ManualHandling | events_pb2.JobFailed:
    """The outcome message published on a job subject."""
    if subject == DRAFT_READY:
        return events_pb2.DraftReady.FromString(payload)
    if subject == MANUAL_HANDLING:
        return events_pb2.ManualHandling.FromString(payload)
    if subject == JOB_FAILED:
        return events_pb2.JobFailed.FromString(payload)
    raise ValueError(f"not an outcome subject: {subject}")


def topic_name(topic: types_pb2.Topic.ValueType) -> str:
    """The taxonomy name of a topic, e.g. delivery_delay."""
    return types_pb2.Topic.Name(topic).removeprefix("TOPIC_").lower()


def _draft_panel(d: events_pb2.DraftReady) -> Panel:
    c = d.classification
    head = Table.grid(padding=(0, 2))
    head.add_row("job", d.job_id, "case", d.case_id, "customer", str(d.customer_id))
    head.add_row(
        "topic",
        topic_name(c.topic),
        "urgent",
        f"yes ({c.urgency_reason})" if c.urgent else "no",
        "confidence",
        f"{c.confidence:.2f} ({_enum(types_pb2.Tier.Name(c.tier))} tier)",
    )
    parts: list[RenderableType] = [head]
    if d.escalation_reason:
        parts.append(
            Text(
                f"ESCALATED: {events_pb2.EscalationReason.Name(d.escalation_reason).removeprefix('ESCALATION_REASON_')}"
                f" - {d.escalation_detail}",
                style="bold red",
            )
        )
    if not d.reply_needed:
        parts.append(Text("No reply needed: close after review.", style="yellow"))
    if d.facts.shipments or d.facts.unmatched_tracking_numbers:
        t = Table(title="shipments (facts)", title_justify="left")
        t.add_column("tracking", no_wrap=True)
        for col in ("order", "carrier", "status", "window end", "days late", "fee"):
            t.add_column(col)
        for s in d.facts.shipments:
            t.add_row(
                s.tracking_number,
                str(s.order_id),
                s.carrier,
                _enum(delivery_pb2.ShipmentStatus.Name(s.status)),
                s.expected_end_time.ToDatetime().date().isoformat(),
                str(s.days_late),
                f"${s.delivery_fee.amount}",
            )
        for n in d.facts.unmatched_tracking_numbers:
            t.add_row(n, "-", "-", "not on this account", "-", "-", "-")
        parts.append(t)
    if d.facts.products:
        t = Table(title="products (facts)", title_justify="left")
        for col in ("id", "product", "size", "colour", "price", "stock", "availability"):
            t.add_column(col)
        for p in d.facts.products[:15]:
            t.add_row(
                str(p.product.product_id),
                full_name(p.product),
                f"{p.product.size_us:g}",
                p.product.color,
                f"${p.product.price}",
                str(p.quantity_on_hand),
                _enum(product_pb2.AvailabilityStatus.Name(p.status)),
            )
        parts.append(t)
    if d.facts.product_reading:
        parts.append(Text(f"Read as: {d.facts.product_reading}", style="dim"))
    if d.facts.product_sql:
        parts.append(Text(f"SQL: {d.facts.product_sql}", style="dim"))
    if d.actions:
        t = Table(title="proposed actions (need approval)", title_justify="left")
        t.add_column("action")
        t.add_column("target", no_wrap=True)
        for col in ("amount", "why"):
            t.add_column(col)
        for a in d.actions:
            t.add_row(
                types_pb2.ActionType.Name(a.type).removeprefix("ACTION_TYPE_").lower(),
                a.target,
                f"${a.amount.amount}" if a.amount.amount else "",
                a.rationale,
            )
        parts.append(t)
    if d.reply:
        parts.append(Panel(d.reply, title="draft reply", title_align="left", border_style="green"))
    parts.append(Text(f"summary: {d.reply_summary}", style="italic"))
    return Panel(
        Group(*parts), title="[bold]DRAFT READY[/bold]", title_align="left", border_style="cyan"
    )


def render(subject: str, payload: bytes) -> Panel:
    """A panel for any outcome."""
    event = decode(subject, payload)
    if isinstance(event, events_pb2.DraftReady):
        return _draft_panel(event)
    if isinstance(event, events_pb2.ManualHandling):
        reason = events_pb2.ManualHandlingReason.Name(event.reason).removeprefix(
            "MANUAL_HANDLING_REASON_"
        )
        return Panel(
            f"job {event.job_id}  case {event.case_id}  customer {event.customer_id}\n{reason}: {event.detail}",
            title="[bold]MANUAL HANDLING[/bold]",
            title_align="left",
            border_style="yellow",
        )
    code = types_pb2.ErrorCode.Name(event.code).removeprefix("ERROR_CODE_")
    return Panel(
        f"job {event.job_id}  case {event.case_id or '-'}  customer {event.customer_id or '-'}"
        f"  deliveries {event.delivery_attempts}\n{code}: {event.detail}",
        title="[bold]JOB FAILED[/bold]",
        title_align="left",
        border_style="red",
    )
