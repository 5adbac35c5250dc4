"""The review queue's pure parts: its address (filters and pages), where a page is cut,
and the rows a reviewer reads before opening a draft (escaped)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from selectolax.lexbor import LexborHTMLParser, LexborNode

from services.orchestrator import review
from services.orchestrator.console import _templates
from services.orchestrator.review import QueryError, QueueMarks, QueueQuery, parse_queue_query
from services.orchestrator.review_queue import PendingDraft, QueuePage, page_span, queue_order

NOW = datetime(2026, 1, 29, 10, 0, tzinfo=UTC)


def test_an_empty_address_is_the_first_page_of_every_draft() -> None:
    assert parse_queue_query([]) == QueueQuery(size=review.DEFAULT_PAGE_SIZE)
    # The filter form sends its "all" options as empty values.
    assert parse_queue_query([("topic", ""), ("level", ""), ("size", "")]) == QueueQuery()
    assert not QueueQuery().filtered


def test_filters_and_positions_are_read() -> None:
    query = parse_queue_query(
        [("topic", "delivery_delay"), ("level", "priority"), ("size", "10"), ("after", "job-7")]
    )
    assert query == QueueQuery(topic="delivery_delay", level="priority", size=10, after="job-7")
    assert query.filtered
    # Keys it does not know (a cache buster) are left alone.
    assert parse_queue_query([("level", "none"), ("utm", "x")]).level == "none"


@pytest.mark.parametrize(
    ("pairs", "says"),
    [
        ([("topic", "shoes")], "unknown topic 'shoes': choose one of"),
        ([("topic", "TOPIC_DELIVERY_DELAY")], "unknown topic"),
        ([("level", "urgent")], "unknown urgency level 'urgent': choose one of hands_off"),
        ([("size", "0")], "page size must be a whole number from 1 to 100"),
        ([("size", "101")], "page size"),
        ([("size", "ten")], "page size"),
        ([("size", "-5")], "page size"),
        ([("size", "9" * 5000)], "page size"),
        ([("topic", "other"), ("topic", "delivery_delay")], "give topic once"),
        ([("after", "job-1"), ("before", "job-2")], "not both"),
        ([("after", "job\n1")], "not a draft"),
        ([("before", "j" * 201)], "not a draft"),
    ],
)
def test_values_the_queue_cannot_show_are_refused_with_why(
    pairs: list[tuple[str, str]], says: str
) -> None:
    with pytest.raises(QueryError, match=says.replace("(", r"\(")):
        parse_queue_query(pairs)


def test_a_long_bad_value_is_shortened_in_the_message() -> None:
    with pytest.raises(QueryError) as refused:
        parse_queue_query([("topic", "x" * 10_000)])
    assert len(str(refused.value)) < 300


def test_page_links_keep_the_filter_and_size_and_leave_defaults_out() -> None:
    assert QueueQuery().link() == "/"
    assert QueueQuery(after="job-1").link() == "/"  # a link says its own position
    query = QueueQuery(topic="billing_dispute", level="hands_off", size=10)
    assert query.link(after="job 1&x") == (
        "/?topic=billing_dispute&level=hands_off&size=10&after=job+1%26x"
    )
    assert QueueQuery(level="none").link(before="j-2") == "/?level=none&before=j-2"


def test_page_sizes_offered_include_one_typed_in_the_address() -> None:
    assert review.page_size_choices(25) == [10, 25, 50, 100]
    assert review.page_size_choices(7) == [7, 10, 25, 50, 100]


def _orders(n: int, urgent: int = 0) -> list[tuple[bool, datetime, str]]:
    places = [queue_order(i < urgent, NOW + timedelta(minutes=i), f"job-{i:02}") for i in range(n)]
    return sorted(places)


def test_pages_are_cut_after_or_before_a_draft() -> None:
    orders = _orders(7)
    assert page_span(orders, size=3) == (0, 3)
    assert page_span(orders, size=3, after=orders[2]) == (3, 6)
    assert page_span(orders, size=3, after=orders[5]) == (6, 7)
    assert page_span(orders, size=3, before=orders[6]) == (3, 6)
    # Before the third draft: the first page, filled.
    assert page_span(orders, size=3, before=orders[2]) == (0, 3)
    assert page_span([], size=3) == (0, 0)


def test_a_page_anchored_on_a_decided_draft_starts_where_it_stood() -> None:
    orders = _orders(6)
    decided = orders.pop(2)  # decided since the page was opened: its place stays
    assert page_span(orders, size=2, after=decided) == (2, 4)
    assert page_span(orders, size=2, before=decided) == (0, 2)
    # Nothing left after the anchor: the last page rather than an empty one.
    assert page_span(orders, size=2, after=queue_order(False, NOW + timedelta(days=1), "z")) == (
        3,
        5,
    )


def test_urgent_drafts_come_first_then_the_oldest() -> None:
    older = queue_order(False, NOW, "job-b")
    newer_urgent = queue_order(True, NOW + timedelta(hours=1), "job-c")
    same_time = queue_order(False, NOW, "job-a")
    assert sorted([older, newer_urgent, same_time]) == [newer_urgent, same_time, older]


def _pending(job_id: str, marks: QueueMarks, **extra: Any) -> PendingDraft:
    fields: dict[str, Any] = {
        "job_id": job_id,
        "case_id": "c-1",
        "customer_id": 8,
        "topic": "TOPIC_DELIVERY_DELAY",
        "urgent": marks.level != "none",
        "sender_address": "customer8@example.com",
        "subject": "Late shoes",
        "created_at": NOW,
        "marks": marks,
    }
    fields.update(extra)
    return PendingDraft(**fields)


def _view(drafts: list[PendingDraft], query: QueueQuery | None = None, **page: Any) -> Any:
    queue = QueuePage(
        drafts=drafts,
        total=page.get("total", len(drafts)),
        start=page.get("start", 0),
        urgent_before=page.get("urgent_before", 0),
        previous=page.get("previous", ""),
        next=page.get("next", ""),
    )
    html = (
        _templates()
        .get_template("queue_view.html.j2")
        .render(query=query or QueueQuery(), queue=queue)
    )
    return LexborHTMLParser(html), html


def test_a_row_shows_the_proposal_urgency_languages_and_flags() -> None:
    refund = QueueMarks(
        readable=True,
        level="priority",
        actions=("delivery fee refund $1.50", "coupon"),
        low_confidence=True,
        language="es",
        reply_language="en",
        reply_language_note="no reply templates in Catalan",
        hidden_content=True,
        suspected_injection=True,
    )
    escalated = QueueMarks(
        readable=True,
        level="hands_off",
        escalated="urgent",
        escalation_detail="harm to a person reported",
        language="en",
    )
    closing = QueueMarks(readable=True, reply_needed=False)
    tree, _ = _view(
        [_pending("j-1", refund), _pending("j-2", escalated), _pending("j-3", closing)], total=3
    )
    rows = {r.attributes["data-job-id"]: r for r in tree.css("#queue tr[data-job-id]")}

    def text(job_id: str, testid: str) -> str:
        node = rows[job_id].css_first(f'[data-testid="{testid}"]')
        return " ".join(node.text(separator=" ").split()) if node else ""

    assert text("j-1", "level") == "priority"
    assert text("j-1", "proposal") == "delivery fee refund $1.50 · coupon"
    assert text("j-1", "language").startswith("es reply en")
    # Why the reply is not in the customer's language: a tooltip, and read out.
    assert text("j-1", "reply-language-note") == ": no reply templates in Catalan"
    note = rows["j-1"].css_first('[data-testid="reply-language"]').attributes["title"]
    assert note == "no reply templates in Catalan"
    assert text("j-1", "low-confidence") == "low confidence"
    assert text("j-1", "hidden-content") == "hidden text"
    assert text("j-1", "injection") == "injection?"
    assert rows["j-1"].attributes["data-level"] == "priority"
    assert text("j-2", "level") == "hands off"
    assert text("j-2", "escalation") == "escalated: urgent (harm to a person reported)"
    assert text("j-2", "language") == "en" and not text("j-2", "reply-language")
    # A reply in the e-mail's own language is not named twice.
    same = QueueMarks(readable=True, language="es", reply_language="es")
    one, _ = _view([_pending("j-4", same)])
    assert _first(one.root, '[data-testid="language"]').text().split() == ["es"]
    assert not text("j-2", "injection") and not text("j-2", "low-confidence")
    assert text("j-3", "level") == "" and text("j-3", "no-reply-needed")
    assert " ".join(tree.css_first('[data-testid="queue-status"]').text().split()) == (
        "Drafts 1\N{EN DASH}3 of 3."
    )
    assert tree.css_first("nav.pages") is None  # one page


def test_what_the_customer_or_a_model_wrote_is_escaped() -> None:
    marks = QueueMarks(
        readable=True,
        level="hands_off",
        escalated="multiple requests",
        escalation_detail='several requests: <img src=x onerror="alert(1)">',
        language="en",
        reply_language="en",
        reply_language_note='"><script>alert(2)</script>',
    )
    _, html = _view(
        [
            _pending(
                'j-"1',
                marks,
                subject="<script>alert(3)</script>",
                sender_address="<b>@example.com",
            )
        ]
    )
    assert "<script>" not in html and "<img" not in html and "<b>@" not in html
    assert "&lt;script&gt;alert(3)&lt;/script&gt;" in html
    assert 'data-job-id="j-&#34;1"' in html and 'href="/drafts/j-%221"' in html


def test_page_links_and_the_urgent_drafts_on_earlier_pages() -> None:
    query = QueueQuery(level="none", size=2)
    tree, _ = _view(
        [_pending("j-3", QueueMarks(readable=True)), _pending("j-4", QueueMarks(readable=True))],
        query,
        total=9,
        start=2,
        urgent_before=1,
        previous="j-3",
        next="j-4",
    )
    status = " ".join(tree.css_first('[data-testid="queue-status"]').text().split())
    assert status.startswith("Drafts 3\N{EN DASH}4 of 9 matching the filter.")
    assert "1 urgent draft is on earlier pages." in status
    nav = tree.css_first('nav[aria-label="Queue pages"]')
    assert nav.css_first('[data-testid="previous-page"]').attributes["href"] == (
        "/?level=none&size=2&before=j-3"
    )
    assert nav.css_first('[data-testid="next-page"]').attributes["href"] == (
        "/?level=none&size=2&after=j-4"
    )


def test_an_empty_queue_says_whether_the_filter_hides_drafts() -> None:
    tree, _ = _view([])
    assert "Nothing waiting." in tree.css_first("tr.empty").text()
    tree, _ = _view([], QueueQuery(topic="other"))
    assert "Nothing waiting matches the filter" in tree.css_first("tr.empty").text()


def test_the_filter_form_is_labelled_and_keeps_the_chosen_values() -> None:
    query = QueueQuery(topic="billing_dispute", level="hands_off", size=7)
    html = (
        _templates()
        .get_template("queue.html.j2")
        .render(
            query=query,
            queue=None,
            error="",
            topics=review.topic_choices(),
            levels=review.level_choices(),
            sizes=review.page_size_choices(query.size),
            reviewer=None,
            csrf_token="",
        )
    )
    form = _first(LexborHTMLParser(html).root, 'form[data-testid="filters"]')
    assert form.attributes["method"] == "get"
    for name, label, chosen in [
        ("topic", "Topic", "billing_dispute"),
        ("level", "Urgency", "hands_off"),
        ("size", "Per page", "7"),
    ]:
        select = _first(form, f'select[name="{name}"]')
        assert select.parent is not None and select.parent.tag == "label"
        assert select.parent.text().strip().startswith(label)
        assert _first(select, "option[selected]").attributes["value"] == chosen
    assert form.css_first('[data-testid="clear-filters"]') is not None


def _first(node: LexborNode | None, selector: str) -> LexborNode:
    assert node is not None
    found = node.css_first(selector)
    assert found is not None, selector
    return found
