"""Whether a reviewer's decision may be carried out, and what it accepts."""

from __future__ import annotations

from crm.v1 import classifier_pb2, events_pb2, types_pb2
from crmctl.feedback import expected_labels
from crmctl.report import Tally
from services.orchestrator.decisions import accepted_actions, approved_reply, refusal_of
from services.orchestrator.states import JobState

R = events_pb2.DecisionRefusalReason


def _decision(**fields: object) -> events_pb2.DraftDecided:
    base = events_pb2.DraftDecided(
        decision_id="d", job_id="j", customer_id=4, reviewer_id="r",
        verdict=events_pb2.DECISION_VERDICT_APPROVE,
    )  # fmt: skip
    for k, v in fields.items():
        setattr(base, k, v)
    return base


def _refusal(decision: events_pb2.DraftDecided, **state: object) -> object:
    args: dict[str, object] = {
        "job_state": JobState.DRAFT_READY,
        "job_customer_id": 4,
        "newer_job_in_case": False,
        "decided_by_another": False,
    }
    args.update(state)
    found = refusal_of(decision, **args)  # type: ignore[arg-type]
    return found.reason if found else None


def test_a_complete_decision_on_the_latest_draft_may_be_carried_out() -> None:
    assert _refusal(_decision()) is None


def test_refusals_name_their_reason() -> None:
    assert _refusal(_decision(reviewer_id="")) == R.DECISION_REFUSAL_REASON_INVALID
    assert (
        _refusal(_decision(verdict=events_pb2.DECISION_VERDICT_APPROVE_EDITED))
        == R.DECISION_REFUSAL_REASON_INVALID
    )
    assert _refusal(_decision(), job_state=None) == R.DECISION_REFUSAL_REASON_UNKNOWN_JOB
    assert _refusal(_decision(), job_customer_id=5) == R.DECISION_REFUSAL_REASON_UNKNOWN_JOB
    assert _refusal(_decision(), job_state=JobState.FAILED) == R.DECISION_REFUSAL_REASON_NO_DRAFT
    assert (
        _refusal(_decision(), decided_by_another=True) == R.DECISION_REFUSAL_REASON_ALREADY_DECIDED
    )
    assert _refusal(_decision(), newer_job_in_case=True) == R.DECISION_REFUSAL_REASON_STALE_DRAFT


def test_only_listed_and_accepted_actions_run_and_none_when_rejected() -> None:
    proposed = [
        types_pb2.ProposedAction(idempotency_key="a"),
        types_pb2.ProposedAction(idempotency_key="b"),
        types_pb2.ProposedAction(idempotency_key="c"),
    ]
    decision = _decision()
    decision.actions.extend(
        [
            events_pb2.ActionDecision(idempotency_key="a", accepted=True),
            events_pb2.ActionDecision(idempotency_key="b", accepted=False),
        ]
    )
    assert [a.idempotency_key for a in accepted_actions(decision, proposed)] == ["a"]
    decision.verdict = events_pb2.DECISION_VERDICT_REJECT
    assert accepted_actions(decision, proposed) == []


def test_the_reply_sent_is_the_edited_one_the_drafted_one_or_none() -> None:
    draft = events_pb2.DraftReady(reply="Drafted reply.")
    assert approved_reply(_decision(), draft) == "Drafted reply."
    edited = _decision(verdict=events_pb2.DECISION_VERDICT_APPROVE_EDITED, edited_reply=" Edited. ")
    assert approved_reply(edited, draft) == "Edited."
    assert approved_reply(_decision(verdict=events_pb2.DECISION_VERDICT_REJECT), draft) == ""


def test_only_labels_a_reviewer_vouched_for_become_expected_values() -> None:
    draft = events_pb2.DraftReady(
        classification=classifier_pb2.Classification(
            topic=types_pb2.TOPIC_DELIVERY_DELAY, urgent=False
        )
    )
    assert expected_labels(_decision(), draft) is None  # approval alone vouches for nothing
    assert expected_labels(_decision(labels_confirmed=True), draft) == {
        "topic": "delivery_delay",
        "urgent": False,
    }
    corrected = _decision(labels_confirmed=True, corrected_urgent=True)
    assert expected_labels(corrected, draft) == {"topic": "delivery_delay", "urgent": True}
    half = _decision(corrected_topic=types_pb2.TOPIC_OTHER)
    assert expected_labels(half, draft) is None


def test_the_report_counts_approvals_edits_and_thumbs_down() -> None:
    draft = events_pb2.DraftReady(reply="Your parcel is late.")
    tally = Tally()
    tally.add(_decision(), draft)
    tally.add(
        _decision(
            verdict=events_pb2.DECISION_VERDICT_APPROVE_EDITED,
            edited_reply="Your parcel is late, sorry.",
        ),
        draft,
    )
    tally.add(
        _decision(verdict=events_pb2.DECISION_VERDICT_REJECT, job_thumb=events_pb2.THUMB_DOWN),
        draft,
    )
    assert tally.row()[:5] == ["3", "67%", "33%", "7", "33%"]
