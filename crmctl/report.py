"""`crmctl report`: how reviewers receive the agent's drafts, by topic and by tier.

Approval rate (approved as drafted or edited), edit rate and median edit size, thumbs-down
rate and median time to decision, read from the decisions the orchestrator stored. A bar
per topic shows the approval rate at a glance, so a support lead sees drift.
"""

from __future__ import annotations

import difflib
import statistics
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from rich.console import Console
from rich.table import Table

from crm.v1 import events_pb2, types_pb2
from services.orchestrator.states import DecisionState


@dataclass
class Tally:
    """The decisions of one topic (or tier)."""

    decisions: int = 0
    approved: int = 0
    edited: int = 0
    thumbs_down: int = 0
    edit_sizes: list[int] = field(default_factory=list)
    seconds: list[float] = field(default_factory=list)

    def add(self, decision: events_pb2.DraftDecided, draft: events_pb2.DraftReady) -> None:
        """Counts one decision."""
        self.decisions += 1
        if decision.verdict in (
            events_pb2.DECISION_VERDICT_APPROVE,
            events_pb2.DECISION_VERDICT_APPROVE_EDITED,
        ):
            self.approved += 1
        if decision.verdict == events_pb2.DECISION_VERDICT_APPROVE_EDITED:
            self.edited += 1
            ops = difflib.SequenceMatcher(
                a=draft.reply, b=decision.edited_reply, autojunk=False
            ).get_opcodes()
            self.edit_sizes.append(
                sum(max(i2 - i1, j2 - j1) for op, i1, i2, j1, j2 in ops if op != "equal")
            )
        if events_pb2.THUMB_DOWN in (decision.job_thumb, decision.case_thumb):
            self.thumbs_down += 1
        if decision.HasField("decide_time") and draft.HasField("create_time"):
            self.seconds.append(
                max(0.0, decision.decide_time.ToSeconds() - draft.create_time.ToSeconds())
            )

    def row(self) -> list[str]:
        """The tally as table cells."""
        n = max(1, self.decisions)
        return [
            str(self.decisions),
            f"{self.approved / n:.0%}",
            f"{self.edited / n:.0%}",
            f"{statistics.median(self.edit_sizes):.0f}" if self.edit_sizes else "-",
            f"{self.thumbs_down / n:.0%}",
            f"{statistics.median(self.seconds) / 60:.1f}" if self.seconds else "-",
        ]


def tallies(rows: list[Any]) -> tuple[dict[str, Tally], dict[str, Tally]]:
    """Tallies by topic and by the tier that wrote the reply."""
    by_topic: dict[str, Tally] = defaultdict(Tally)
    by_tier: dict[str, Tally] = defaultdict(Tally)
    for row in rows:
        decision = events_pb2.DraftDecided()
        decision.ParseFromString(row["decision"])
        draft = events_pb2.DraftReady()
        draft.ParseFromString(row["outcome"])
        topic = types_pb2.Topic.Name(draft.classification.topic).removeprefix("TOPIC_").lower()
        by_topic[topic].add(decision, draft)
        by_tier["llm" if draft.reply_tier == "llm" else "0"].add(decision, draft)
    return dict(by_topic), dict(by_tier)


async def report(database_url: str, console: Console) -> int:
    """Prints the tables; returns the number of decisions read."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            "SELECT d.decision, j.outcome FROM orchestrator.decisions d"
            " JOIN orchestrator.jobs j USING (job_id) WHERE d.state = $1",
            DecisionState.DONE,
        )
    finally:
        await conn.close()
    by_topic, by_tier = tallies(list(rows))
    columns = ("decisions", "approved", "edited", "median edit (chars)", "thumbs down",
               "median time to decision (min)")  # fmt: skip
    for title, groups in (("by topic", by_topic), ("by tier of the reply", by_tier)):
        table = Table(title=f"Reviewers' decisions {title}")
        table.add_column(title.split()[-1])
        for c in columns:
            table.add_column(c, justify="right")
        for name, tally in sorted(groups.items()):
            table.add_row(name, *tally.row())
        console.print(table)
    if by_topic:
        console.print("Approval rate by topic")
        width = max(len(t) for t in by_topic)
        for name, tally in sorted(by_topic.items()):
            share = tally.approved / max(1, tally.decisions)
            console.print(f"  {name:<{width}} {'█' * round(share * 40):<40} {share:.0%}")
    return len(rows)
