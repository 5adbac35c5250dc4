"""`crmctl feedback export`: reviewers' decisions as labelled cases for `crmctl eval`.

Each carried-out decision becomes one JSON line with the e-mail, the case history as the
classifier saw it (each earlier message's direction, `inbound` or `outbound`, and summary,
oldest first), the customer, the draft, the decision and the edit. `expected` comes only
from labels a reviewer confirmed or corrected, never from the agent's own predictions;
decisions with neither are left out (and counted). The lines are `crmctl eval classify`
cases as they are.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import asyncpg
from google.protobuf.json_format import MessageToDict

from crm.v1 import events_pb2, types_pb2
from services.orchestrator.states import DecisionState


def expected_labels(
    decision: events_pb2.DraftDecided, draft: events_pb2.DraftReady
) -> dict[str, Any] | None:
    """The topic and urgency a reviewer vouched for, or None when they vouched for none."""
    corrected_topic = decision.corrected_topic != types_pb2.TOPIC_UNSPECIFIED
    corrected_urgent = decision.HasField("corrected_urgent")
    if not (decision.labels_confirmed or corrected_topic or corrected_urgent):
        return None
    if not decision.labels_confirmed and not (corrected_topic and corrected_urgent):
        # Only one label corrected and the other not confirmed: nothing complete to keep.
        return None
    topic = decision.corrected_topic if corrected_topic else draft.classification.topic
    urgent = decision.corrected_urgent if corrected_urgent else draft.classification.urgent
    return {
        "topic": types_pb2.Topic.Name(topic).removeprefix("TOPIC_").lower(),
        "urgent": bool(urgent),
    }


async def export(database_url: str, out: Path) -> tuple[int, int]:
    """Writes the labelled cases to `out`; returns (written, left out for lack of labels)."""
    conn = await asyncpg.connect(database_url)
    written = skipped = 0
    try:
        rows = await conn.fetch(
            """
            SELECT d.decision, j.outcome, j.job_id, j.case_id, j.customer_id
            FROM orchestrator.decisions d JOIN orchestrator.jobs j USING (job_id)
            WHERE d.state = $1 ORDER BY d.created_at
            """,
            DecisionState.DONE,
        )
        with out.open("w", encoding="utf-8") as f:
            for row in rows:
                decision = events_pb2.DraftDecided()
                decision.ParseFromString(row["decision"])
                draft = events_pb2.DraftReady()
                draft.ParseFromString(row["outcome"])
                expected = expected_labels(decision, draft)
                if expected is None:
                    skipped += 1
                    continue
                email = await conn.fetchrow(
                    "SELECT subject, body, id FROM memory.case_messages"
                    " WHERE job_id = $1 AND direction = 'inbound'",
                    row["job_id"],
                )
                history = await conn.fetch(
                    "SELECT direction, summary FROM memory.case_messages"
                    " WHERE case_id = $1 AND id < $2 ORDER BY occurred_at, id",
                    row["case_id"],
                    email["id"] if email else 0,
                )
                case = {
                    "id": row["job_id"],
                    "email": f"Subject: {email['subject']}\n{email['body']}" if email else "",
                    "history": [
                        {"direction": h["direction"], "summary": h["summary"]} for h in history
                    ],
                    "customer_id": row["customer_id"],
                    "expected": expected,
                    "draft": MessageToDict(draft),
                    "decision": MessageToDict(decision),
                    "edited": decision.verdict == events_pb2.DECISION_VERDICT_APPROVE_EDITED,
                }
                f.write(json.dumps(case, ensure_ascii=False) + "\n")
                written += 1
    finally:
        await conn.close()
    return written, skipped
