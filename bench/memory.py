"""Case memory against the full thread: tokens sent and triage accuracy on long threads.

Each labelled thread (evals/memory/threads.jsonl, 8+ messages) is replayed into the running
memory service the way the orchestrator does it: every earlier customer message is
recorded, triaged with the context memory serves at that moment, and its topic recorded;
every shop reply is recorded as approved. The last message (a follow-up that cannot be
understood alone) is then triaged twice by tier 0: with the memory's token-budgeted
context, and with the full text of every earlier message. Tokens are counted with the
o200k_base encoding over what a model would be sent as history.
"""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path
from typing import Any

import grpc

from crm.v1 import memory_pb2, memory_pb2_grpc, types_pb2
from services.classifier.handler import history_from, open_request_from
from services.classifier.history import HistoryMessage
from services.classifier.llm import history_lines
from services.classifier.main import load_tier0
from services.common.model_calls import count_tokens

THREADS = Path(__file__).parent.parent / "evals" / "memory" / "threads.jsonl"


async def memory_comparison(memory_address: str, token_budget: int = 0) -> dict[str, Any]:
    """memory_token_ratio, memory_accuracy_drop_points and the figures behind them."""
    threads = [json.loads(x) for x in THREADS.read_text().splitlines() if x.strip()]
    triager = load_tier0()
    full_tokens = memory_tokens = 0
    full_right = memory_right = numbers_found = numbers_expected = 0
    async with grpc.aio.insecure_channel(memory_address) as channel:
        memory: Any = memory_pb2_grpc.MemoryServiceStub(channel)
        for thread in threads:
            case = f"bench-{thread['id']}-{uuid.uuid4()}"
            customer = thread["customer_id"]
            *earlier, last = thread["messages"]
            full_history: list[HistoryMessage] = []
            for n, message in enumerate(earlier):
                job = f"{case}-{n}"
                if message["direction"] == "inbound":
                    context = await memory.GetCaseContext(
                        memory_pb2.GetCaseContextRequest(case_id=case, customer_id=customer)
                    )
                    verdict = triager.classify(
                        message.get("subject", ""),
                        message["body"],
                        _history(context.messages),
                        dict(context.topic_counts),
                        open_request_from(
                            context.open_request if context.HasField("open_request") else None
                        ),
                    )
                    await memory.RecordInboundEmail(
                        memory_pb2.RecordInboundEmailRequest(
                            request_id=job,
                            case_id=case,
                            customer_id=customer,
                            subject=message.get("subject", ""),
                            body=message["body"],
                        )
                    )
                    await memory.RecordDraft(
                        memory_pb2.RecordDraftRequest(
                            request_id=job, case_id=case, customer_id=customer, topic=verdict.topic
                        )
                    )
                else:
                    await memory.RecordApprovedReply(
                        memory_pb2.RecordApprovedReplyRequest(
                            request_id=job,
                            case_id=case,
                            customer_id=customer,
                            subject=message.get("subject", ""),
                            body=message["body"],
                        )
                    )
                full_history.append(HistoryMessage(message["direction"], message["body"]))
            context = await memory.GetCaseContext(
                memory_pb2.GetCaseContextRequest(
                    case_id=case, customer_id=customer, token_budget=token_budget
                )
            )
            summaries = _history(context.messages)
            expected = thread["expected"]
            subject, body = last.get("subject", ""), last["body"]
            with_memory = triager.classify(
                subject,
                body,
                summaries,
                dict(context.topic_counts),
                open_request_from(
                    context.open_request if context.HasField("open_request") else None
                ),
            )
            with_thread = triager.classify(subject, body, full_history)
            if os.environ.get("MEMORY_BENCH_VERBOSE"):
                print(
                    thread["id"],
                    expected["topic"],
                    expected["urgent"],
                    "| memory:",
                    with_memory.topic,
                    with_memory.urgent,
                    with_memory.repeat_count,
                    dict(context.topic_counts),
                    "| full:",
                    with_thread.topic,
                    with_thread.urgent,
                )
            memory_right += (with_memory.topic, with_memory.urgent) == (
                expected["topic"],
                expected["urgent"],
            )
            full_right += (with_thread.topic, with_thread.urgent) == (
                expected["topic"],
                expected["urgent"],
            )
            # What a model would be sent besides the summaries: the askings per topic and
            # the case's numbers, on one line each.
            extra = [
                "Askings: " + ", ".join(f"{t} x{n}" for t, n in context.topic_counts.items()),
                "Numbers: "
                + ", ".join([*context.facts.tracking_numbers, *context.facts.order_numbers]),
            ]
            memory_tokens += count_tokens("\n".join([*history_lines(summaries), *extra]))
            full_tokens += count_tokens("\n".join(history_lines(full_history)))
            wanted = [*expected.get("tracking_numbers", []), *expected.get("order_numbers", [])]
            known = {*context.facts.tracking_numbers, *context.facts.order_numbers}
            numbers_expected += len(wanted)
            numbers_found += sum(1 for w in wanted if w.upper() in known)
    n = len(threads)
    return {
        "memory_threads": n,
        "memory_messages_per_thread": round(sum(len(t["messages"]) for t in threads) / n, 1),
        "memory_tokens_full_thread": full_tokens,
        "memory_tokens_with_memory": memory_tokens,
        "memory_token_ratio": round(memory_tokens / full_tokens, 3),
        "memory_accuracy_full_thread": round(full_right / n, 3),
        "memory_accuracy_with_memory": round(memory_right / n, 3),
        "memory_accuracy_drop_points": round(100 * (full_right - memory_right) / n, 1),
        "memory_numbers_recalled": round(numbers_found / max(1, numbers_expected), 3),
    }


def _history(messages: Any) -> list[HistoryMessage]:
    """Case memory's messages as the orchestrator sends them to the classifier."""
    return history_from(
        types_pb2.HistoryEntry(direction=m.direction, summary=m.summary) for m in messages
    )
