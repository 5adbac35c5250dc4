"""One job from a validated e-mail to a draft: memory, triage, workflow, reply.

The services are reached through their gRPC stubs (one channel each, shared by all
jobs). A dependency that is down raises DependencyUnavailable so the consumer can
redeliver the job later; any other error becomes a job-failed outcome.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from crm.v1 import classifier_pb2, delivery_pb2, events_pb2, memory_pb2, types_pb2
from services.common.errors import error_code_of
from services.common.metrics import STAGE_SECONDS
from services.common.model_calls import ModelCallRecord, total_cost
from services.common.taxonomy import topic_name
from services.orchestrator.identifiers import identifiers_for
from services.orchestrator.intake import Email, Rejection
from services.orchestrator.phrasing import LlmPhraser
from services.orchestrator.replies import Reply
from services.orchestrator.reply_language import CATALOGUES, ENGLISH, Catalogues
from services.orchestrator.routing import Route, route
from services.orchestrator.workflows import WORKFLOWS, Question, Workflow

if TYPE_CHECKING:
    from crm.v1.classifier_pb2_grpc import ClassifierServiceAsyncStub
    from crm.v1.delivery_pb2_grpc import DeliveryServiceAsyncStub
    from crm.v1.memory_pb2_grpc import MemoryServiceAsyncStub
    from crm.v1.product_pb2_grpc import ProductServiceAsyncStub

R = TypeVar("R")

# Status codes that mean "try again later", not "this job is wrong".
_TRANSIENT = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
    }
)


class DependencyUnavailable(Exception):
    """A service the job needs cannot be reached right now."""

    def __init__(self, service: str, detail: str) -> None:
        super().__init__(f"{service} unavailable: {detail}")
        self.service = service


class JobError(Exception):
    """The job cannot succeed; it ends with a job-failed event carrying this code."""

    def __init__(self, code: types_pb2.ErrorCode.ValueType, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class MeshClients:
    """Stubs on the process's shared channels, and the per-call deadline."""

    classifier: ClassifierServiceAsyncStub
    product: ProductServiceAsyncStub
    delivery: DeliveryServiceAsyncStub
    memory: MemoryServiceAsyncStub
    timeout_seconds: float
    # The LLM tier of reply writing; None when no model is configured.
    phraser: LlmPhraser | None = None
    # Tokens all model calls of one job may use (classification, product, reply).
    job_token_budget: int = 20_000


async def call(service: str, rpc: Callable[[], Awaitable[R]]) -> R:
    """Runs one RPC, sorting failures into 'retry later' and 'this job fails'; its time
    counts towards the stage named after the service."""
    try:
        with STAGE_SECONDS.labels(service).time():
            return await rpc()
    except grpc.aio.AioRpcError as exc:
        if exc.code() in _TRANSIENT:
            raise DependencyUnavailable(service, exc.details() or exc.code().name) from exc
        code = error_code_of(exc)
        if code == types_pb2.ERROR_CODE_UNSPECIFIED:
            code = types_pb2.ERROR_CODE_INTERNAL
        if code == types_pb2.ERROR_CODE_NOT_READY:
            raise DependencyUnavailable(service, exc.details() or "not ready") from exc
        raise JobError(code, f"{service}: {exc.details()}") from exc


def history_entry(message: memory_pb2.CaseMessage) -> types_pb2.HistoryEntry:
    """A case message as the classifier reads it: who wrote it, and its summary."""
    return types_pb2.HistoryEntry(direction=message.direction, summary=message.summary)


def history_line(message: memory_pb2.CaseMessage) -> str:
    """A case message as the reviewer reads it among the draft's facts."""
    if message.direction == types_pb2.MESSAGE_DIRECTION_OUTBOUND:
        return f"Support replied: {message.summary}"
    return message.summary


def _now() -> Timestamp:
    ts = Timestamp()
    ts.FromDatetime(datetime.now(UTC))
    return ts


async def check_sender(email: Email, clients: MeshClients) -> Rejection | None:
    """Manual handling when the sender address belongs to another customer than the one
    the CRM authenticated: the agent must not answer one customer's questions about
    another's orders."""
    answer = await call(
        "delivery",
        lambda: clients.delivery.CheckSender(
            delivery_pb2.CheckSenderRequest(
                job_id=email.job_id,
                customer_id=email.customer_id,
                sender_address=email.sender_address,
            ),
            timeout=clients.timeout_seconds,
        ),
    )
    if answer.verdict == delivery_pb2.SENDER_VERDICT_OTHER_CUSTOMER:
        return Rejection(
            events_pb2.MANUAL_HANDLING_REASON_SENDER_MISMATCH,
            "the sender address belongs to a different customer than the one the CRM authenticated",
        )
    return None


async def draft_for(email: Email, clients: MeshClients) -> events_pb2.DraftReady:
    """Runs the job's workflow and returns the draft for a person to approve."""
    t = clients.timeout_seconds
    received = Timestamp()
    received.FromDatetime(email.received_at)
    recorded = await call(
        "memory",
        lambda: clients.memory.RecordInboundEmail(
            memory_pb2.RecordInboundEmailRequest(
                request_id=email.job_id,
                case_id=email.case_id,
                customer_id=email.customer_id,
                subject=email.subject,
                body=email.body,
                received_time=received,
            ),
            timeout=t,
        ),
    )
    case = await call(
        "memory",
        lambda: clients.memory.GetCaseContext(
            memory_pb2.GetCaseContextRequest(
                case_id=email.case_id, customer_id=email.customer_id, exclude_job_id=email.job_id
            ),
            timeout=t,
        ),
    )
    verdict = await call(
        "classifier",
        lambda: clients.classifier.ClassifyEmail(
            classifier_pb2.ClassifyEmailRequest(
                job_id=email.job_id,
                customer_id=email.customer_id,
                subject=email.subject,
                body=email.body,
                history=[history_entry(m) for m in case.messages],
                earlier_topic_counts=case.topic_counts,
                open_request=case.open_request if case.HasField("open_request") else None,
                hidden_content=email.hidden_content,
            ),
            timeout=t,
        ),
    )
    classification = verdict.classification
    decision = route(classification)
    draft = events_pb2.DraftReady(
        job_id=email.job_id,
        case_id=email.case_id,
        customer_id=email.customer_id,
        classification=classification,
        reply_needed=decision.reply_needed,
        escalation_reason=decision.escalation,
        escalation_detail=decision.detail if decision.escalation else "",
        facts=events_pb2.Facts(case_history=[history_line(m) for m in case.messages]),
        create_time=_now(),
        model_calls=[*recorded.model_calls, *verdict.model_calls],
        hidden_content=email.hidden_content,
    )
    await _run_workflow(decision, email, clients, draft, case.facts)
    draft.model_cost_usd = total_cost(draft.model_calls)
    await call(
        "memory",
        lambda: clients.memory.RecordDraft(
            memory_pb2.RecordDraftRequest(
                request_id=email.job_id,
                case_id=email.case_id,
                customer_id=email.customer_id,
                topic=topic_name(classification.topic),
                facts=facts_for_memory(draft),
            ),
            timeout=t,
        ),
    )
    return draft


def facts_for_memory(draft: events_pb2.DraftReady) -> memory_pb2.CaseFacts:
    """What the case memory keeps of a draft: the numbers and products it is about and
    the actions proposed."""
    facts = draft.facts
    # The orders a delivery draft looked up count too: a billing or return follow-up on the
    # same parcel ("and I was charged twice for it") finds its order.
    orders = [
        *(o.order_id for o in facts.orders),
        *(i.order_id for i in facts.complaint_items),
        *(s.order_id for s in facts.shipments),
    ]
    return memory_pb2.CaseFacts(
        tracking_numbers=list(
            dict.fromkeys(s.tracking_number for s in facts.shipments if s.tracking_number)
        ),
        order_numbers=list(dict.fromkeys(str(o) for o in orders if o)),
        products=list(dict.fromkeys(p.product.name for p in facts.products)),
        actions_proposed=[
            " ".join(
                x
                for x in (
                    types_pb2.ActionType.Name(a.type).removeprefix("ACTION_TYPE_").lower(),
                    a.target,
                    a.amount.amount,
                )
                if x
            )
            for a in draft.actions
        ],
    )


async def _run_workflow(
    decision: Route,
    email: Email,
    clients: MeshClients,
    draft: events_pb2.DraftReady,
    case_facts: memory_pb2.CaseFacts,
) -> None:
    """Runs the routed workflow of the table: its assessment, its facts, the owning
    service's answer on whether a person must decide, its actions and its reply."""
    text = f"{email.subject}\n{email.body}"
    if decision.escalation or not decision.reply_needed:
        draft.reply_summary = (
            f"Escalated to a person: {decision.detail}."
            if decision.escalation
            else "No reply needed."
        )
        return
    workflow = WORKFLOWS[decision.workflow]
    question = Question(
        job_id=email.job_id,
        customer_id=email.customer_id,
        text=text,
        identifiers=identifiers_for(draft.classification),
        case_facts=case_facts,
    )
    answer = await call(workflow.service, lambda: workflow.assess(question, clients))
    workflow.join_facts(answer, draft)
    review_reason = workflow.review_reason(answer)
    if review_reason:
        draft.escalation_reason = events_pb2.ESCALATION_REASON_NEEDS_REVIEW
        draft.escalation_detail = review_reason
        draft.reply_summary = f"Escalated to a person: {review_reason}."
        return
    draft.actions.extend(workflow.actions(answer))
    reply = render_reply(workflow, answer, draft)
    if clients.phraser is not None:
        calls: list[ModelCallRecord] = []
        spent = sum(c.input_tokens + c.output_tokens for c in draft.model_calls)
        phrasing = await clients.phraser.phrase(
            reply.text,
            text,
            [str(draft.facts), *(str(a) for a in draft.actions)],
            _product_names(draft.facts),
            calls,
            topic=types_pb2.Topic.Name(draft.classification.topic),
            tokens_left=clients.job_token_budget - spent,
            language=draft.reply_language,
        )
        draft.reply = phrasing.text
        draft.reply_tier = phrasing.tier
        draft.reply_fallback_reason = phrasing.fallback_reason
        draft.model_calls.extend(c.to_proto() for c in calls)


def render_reply(
    workflow: Workflow[Any],
    answer: Any,
    draft: events_pb2.DraftReady,
    catalogues: Catalogues = CATALOGUES,
) -> Reply:
    """Renders the workflow's tier-0 reply onto the draft in the reply language the
    reading calls for (`reply_language.Catalogues.choose`: the customer's when its
    catalogue is complete, else English with a note), and returns it. A reply in another
    language than English gets the same facts rendered in English beside it
    (`reply_in_english`) for the reviewer; the one-line summary, read by reviewers and
    kept in case memory, is always the English rendering's."""
    language, note = catalogues.choose(draft.classification.language)
    reply = workflow.reply(answer, catalogues.wording(language))
    english = reply if language == ENGLISH else workflow.reply(answer, catalogues.wording(ENGLISH))
    draft.reply_language = language
    draft.reply_language_note = note
    draft.reply = reply.text
    draft.reply_in_english = english.text if language != ENGLISH else ""
    draft.reply_summary = english.summary
    draft.reply_tier = "0"
    return reply


def _product_names(facts: events_pb2.Facts) -> list[str]:
    """Product names the facts could mention, for the grounding check's product rule."""
    names = {p.product.name for p in [*facts.products, *facts.alternative_products]}
    names |= {s.product_name for s in facts.shipments} | {
        i.product_name for i in facts.complaint_items
    }
    return sorted(n for n in names if n)
