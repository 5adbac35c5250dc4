"""The review console: the web page where support staff review drafts, served by the
orchestrator, which owns drafts, decisions and reviewer accounts.

Handlers here translate between HTTP and the domain: sign-in policy is in `reviewers`,
what a form decides is in `review`, data access is in `job_store`, `decision_store`,
`review_queue` and `reviewer_store`. A decision is published on
crm.v1.draft.decided like the CRM's, so the decision consumer carries it out exactly once
whichever way it came. Open pages learn of new drafts and carried-out decisions through
server-sent events, fed by the mesh's own NATS subjects (so every replica's pages hear
every replica's drafts).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
from aiohttp import web
from google.protobuf.message import DecodeError
from jinja2 import Environment, PackageLoader, select_autoescape
from nats.aio.client import Client as NATS
from nats.aio.msg import Msg
from nats.js import JetStreamContext

from crm.v1 import events_pb2, types_pb2
from services.orchestrator import (
    decision_store,
    jetstream,
    job_store,
    reply_language,
    review,
    review_queue,
    reviewer_store,
    reviewers,
)
from services.orchestrator.states import DecisionState, JobState

log = logging.getLogger(__name__)

SESSION_COOKIE = "crm_session"
LOGIN_CSRF_COOKIE = "crm_login_csrf"
_STATIC = "/static/"
_PUBLIC = ("/login", "/healthz", "/favicon.ico")

_STATIC_FILES = Path(__file__).parent / "static"
_SESSION: web.RequestKey[reviewer_store.ReviewerSession | None] = web.RequestKey("session")


@dataclass(frozen=True)
class ConsoleSettings:
    """How the console serves."""

    host: str = "0.0.0.0"
    port: int = 8080
    # Set behind TLS (production): cookies are then sent only over HTTPS.
    secure_cookies: bool = False
    session_hours: float = 12.0
    # How long a decision POST waits for the decision to be carried out before it shows
    # the draft with the decision still under way.
    decision_wait_seconds: float = 8.0


class QueueEvents:
    """Tells open pages that drafts or decisions changed."""

    def __init__(self) -> None:
        self._listeners: set[asyncio.Queue[str]] = set()

    async def subscribe(self, nc: NATS) -> None:
        """Listens to drafts and decision results on the mesh's subjects."""
        for subject in (
            jetstream.JOB_OUTCOMES,
            jetstream.ACTIONS_EXECUTED,
            jetstream.DECISION_REFUSED,
        ):
            await nc.subscribe(subject, cb=self._on_message)

    async def _on_message(self, msg: Msg) -> None:
        self.notify(msg.subject)

    def notify(self, subject: str) -> None:
        """Wakes every listener (a listener that has not caught up needs one wake only)."""
        for queue in self._listeners:
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(subject)

    @contextlib.contextmanager
    def listen(self) -> Iterator[asyncio.Queue[str]]:
        """A queue that receives a subject whenever something changed."""
        queue: asyncio.Queue[str] = asyncio.Queue(maxsize=1)
        self._listeners.add(queue)
        try:
            yield queue
        finally:
            self._listeners.discard(queue)


def _templates() -> Environment:
    env = Environment(
        loader=PackageLoader("services.orchestrator", "templates/console"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["label"] = review.label
    env.filters["money"] = _money
    env.filters["when"] = _when
    env.filters["ago"] = _ago
    env.filters["language_name"] = reply_language.language_name
    return env


def _money(value: Any) -> str:
    if not value:
        return ""
    return f"{value.get('amount', '0')} {value.get('currency_code', '')}".strip()


def _when(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    value = value.astimezone(UTC)
    if (value.hour, value.minute, value.second) == (0, 0, 0):
        return str(value.strftime("%Y-%m-%d"))  # a day (delivery windows), not an instant
    return str(value.strftime("%Y-%m-%d %H:%M UTC"))


def _ago(value: datetime) -> str:
    seconds = max(0, int((datetime.now(UTC) - value).total_seconds()))
    if seconds < 90:
        return f"{seconds}s ago"
    if seconds < 90 * 60:
        return f"{seconds // 60} min ago"
    if seconds < 36 * 3600:
        return f"{seconds // 3600} h ago"
    return f"{seconds // 86400} d ago"


@dataclass
class Console:
    """The console's handlers and what they need."""

    pool: asyncpg.Pool
    js: JetStreamContext
    events: QueueEvents
    settings: ConsoleSettings

    def __post_init__(self) -> None:
        self.templates = _templates()

    # Plumbing.

    def render(self, name: str, *, status: int = 200, **context: Any) -> web.Response:
        body = self.templates.get_template(name).render(**context)
        return web.Response(text=body, status=status, content_type="text/html", charset="utf-8")

    def page(
        self, request: web.Request, name: str, *, status: int = 200, **context: Any
    ) -> web.Response:
        session = request[_SESSION]
        return self.render(
            name,
            status=status,
            reviewer=session,
            csrf_token=session.csrf_token if session else "",
            **context,
        )

    @web.middleware
    async def guard(
        self, request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        """Signed-in reviewers only (except the sign-in page and static files); a POST
        needs the session's CSRF token and, when the browser says, this site's origin."""
        token = request.cookies.get(SESSION_COOKIE)
        session = (
            await reviewer_store.get_session(self.pool, reviewers.token_digest(token))
            if token
            else None
        )
        request[_SESSION] = session
        public = request.path in _PUBLIC or request.path.startswith(_STATIC)
        if session is None and not public:
            if request.method == "GET" and "text/event-stream" not in request.headers.get(
                "Accept", ""
            ):
                raise web.HTTPSeeOther(f"/login?next={quote(request.path_qs)}")
            raise web.HTTPUnauthorized(text="sign in first")
        if request.method == "POST":
            origin = request.headers.get("Origin")
            if origin and origin.split("://", 1)[-1] != request.host:
                raise web.HTTPForbidden(text="the form was sent from another site")
            if session is not None and request.path not in _PUBLIC:
                form = await request.post()
                given = form.get("csrf_token")
                if not reviewers.tokens_match(
                    session.csrf_token, given if isinstance(given, str) else None
                ):
                    raise web.HTTPForbidden(
                        text="the form's CSRF token is missing or wrong: reload the page"
                    )
        response = await handler(request)
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        if not request.path.startswith(_STATIC):
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    def _set_cookie(self, response: web.StreamResponse, name: str, value: str, **kw: Any) -> None:
        response.set_cookie(
            name,
            value,
            httponly=True,
            samesite="Strict",
            secure=self.settings.secure_cookies,
            path="/",
            **kw,
        )

    # Sign-in.

    async def login_page(self, request: web.Request) -> web.StreamResponse:
        if request[_SESSION] is not None:
            raise web.HTTPSeeOther(reviewers.safe_next(request.query.get("next")))
        return self._login_form(request, error="")

    def _login_form(self, request: web.Request, *, error: str, status: int = 200) -> web.Response:
        # Several tabs (or a favicon request) may load the sign-in page: they share one token.
        csrf = request.cookies.get(LOGIN_CSRF_COOKIE) or reviewers.new_token()
        response = self.render(
            "login.html.j2",
            status=status,
            error=error,
            csrf_token=csrf,
            next=reviewers.safe_next(request.query.get("next")),
            reviewer=None,
        )
        self._set_cookie(response, LOGIN_CSRF_COOKIE, csrf)
        return response

    async def login(self, request: web.Request) -> web.StreamResponse:
        form = await request.post()
        given = form.get("csrf_token")
        if not reviewers.tokens_match(
            request.cookies.get(LOGIN_CSRF_COOKIE, ""), given if isinstance(given, str) else None
        ):
            return self._login_form(
                request, error="The sign-in form expired; please try again.", status=403
            )
        reviewer_id = str(form.get("reviewer_id", "")).strip().lower()
        password = str(form.get("password", ""))
        account = await reviewer_store.get_reviewer(self.pool, reviewer_id) if reviewer_id else None
        now = datetime.now(UTC)
        # Argon2 takes tens of milliseconds of CPU: off the event loop.
        result = await asyncio.to_thread(
            reviewers.sign_in,
            password,
            stored_hash=account.password_hash if account else None,
            active=account.active if account else False,
            failed_logins=account.failed_logins if account else 0,
            locked_until=account.locked_until if account else None,
            now=now,
        )
        if account is not None:
            await reviewer_store.record_login(
                self.pool,
                account.reviewer_id,
                succeeded=result.accepted,
                locked_until=result.lock_until,
                password_hash=result.new_hash,
            )
        if not result.accepted:
            log.warning("sign-in refused", extra={"reviewer": reviewer_id, "why": result.reason})
            return self._login_form(
                request,
                error="Wrong reviewer name or password (after five wrong attempts the account "
                "waits five minutes).",
                status=401,
            )
        token = reviewers.new_token()
        await reviewer_store.create_session(
            self.pool,
            token_sha256=reviewers.token_digest(token),
            reviewer_id=reviewer_id,
            csrf_token=reviewers.new_token(),
            expires_at=now + timedelta(hours=self.settings.session_hours),
        )
        log.info("reviewer signed in", extra={"reviewer": reviewer_id})
        response = web.HTTPSeeOther(reviewers.safe_next(str(form.get("next", "/"))))
        self._set_cookie(
            response, SESSION_COOKIE, token, max_age=int(self.settings.session_hours * 3600)
        )
        response.del_cookie(LOGIN_CSRF_COOKIE, path="/")
        raise response

    async def logout(self, request: web.Request) -> web.StreamResponse:
        token = request.cookies.get(SESSION_COOKIE)
        if token:
            await reviewer_store.delete_session(self.pool, reviewers.token_digest(token))
        response = web.HTTPSeeOther("/login")
        response.del_cookie(SESSION_COOKIE, path="/")
        raise response

    # The queue.

    async def queue_page(self, request: web.Request) -> web.StreamResponse:
        """The queue page: the filter form and a page of drafts (the address says which);
        an address the console cannot show is answered 400 with why."""
        query, error, page = review.QueueQuery(), "", None
        try:
            query = review.parse_queue_query(request.query.items())
            page = await review_queue.queue_page(self.pool, query)
        except review.QueryError as exc:
            query, error = review.QueueQuery(), str(exc)
        return self.page(
            request,
            "queue.html.j2",
            status=400 if error else 200,
            error=error,
            query=query,
            queue=page,
            topics=review.topic_choices(),
            levels=review.level_choices(),
            sizes=review.page_size_choices(query.size),
        )

    async def queue_view(self, request: web.Request) -> web.StreamResponse:
        """The part of the queue page that live updates replace, for the page's own
        address (filter and position), so a draft outside the filter never appears."""
        try:
            query = review.parse_queue_query(request.query.items())
            page = await review_queue.queue_page(self.pool, query)
        except review.QueryError as exc:
            raise web.HTTPBadRequest(text=str(exc)) from exc
        response = self.render("queue_view.html.j2", query=query, queue=page)
        response.headers["X-Pending-Drafts"] = str(page.total)
        return response

    async def event_stream(self, request: web.Request) -> web.StreamResponse:
        """Server-sent events: "changed" whenever a draft or decision changed."""
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-store"}
        )
        await response.prepare(request)
        with self.events.listen() as changes:
            try:
                await response.write(b"retry: 2000\n\n")
                while True:
                    try:
                        await asyncio.wait_for(changes.get(), timeout=15)
                        await response.write(b"event: changed\ndata: {}\n\n")
                    except TimeoutError:
                        await response.write(b": keep-alive\n\n")
            except (ConnectionResetError, asyncio.CancelledError):
                pass
        return response

    # A draft.

    async def _job(self, request: web.Request) -> job_store.JobRecord:
        job = await job_store.get_job(self.pool, request.match_info["job_id"])
        if job is None:
            raise web.HTTPNotFound(text="no such job")
        return job

    async def draft_page(self, request: web.Request) -> web.StreamResponse:
        job = await self._job(request)
        return await self._draft(request, job)

    async def _draft(
        self,
        request: web.Request,
        job: job_store.JobRecord,
        *,
        error: str = "",
        reply_text: str | None = None,
        status: int = 200,
    ) -> web.Response:
        draft = _draft_of(job)
        decisions = await decision_store.decisions_of_job(self.pool, job.job_id)
        case_jobs = await job_store.jobs_of_case(self.pool, job.case_id) if job.case_id else [job]
        newer = [j for j in case_jobs if j.stream_sequence > job.stream_sequence]
        held = any(d.state != DecisionState.REFUSED for d in decisions)
        return self.page(
            request,
            "draft.html.j2",
            status=status,
            job=job,
            draft=review.as_dict(draft) if draft else None,
            outcome=_outcome_of(job),
            decisions=[_decision_view(d) for d in decisions],
            case_jobs=case_jobs,
            newer_job=newer[-1] if newer else None,
            decidable=draft is not None and not held,
            form_id=reviewers.new_token()[:32],
            reply_text=draft.reply if reply_text is None and draft else (reply_text or ""),
            topics=review.topic_choices(),
            error=error,
            version=_version(job, decisions, stale=bool(newer)),
        )

    async def draft_state(self, request: web.Request) -> web.StreamResponse:
        """What the draft page needs to know whether it is out of date."""
        job = await self._job(request)
        decisions = await decision_store.decisions_of_job(self.pool, job.job_id)
        stale = await job_store.newer_job_in_case(self.pool, job) if job.case_id else False
        return web.json_response({"version": _version(job, decisions, stale=stale)})

    async def decide(self, request: web.Request) -> web.StreamResponse:
        job = await self._job(request)
        draft = _draft_of(job)
        if draft is None:
            raise web.HTTPConflict(text=f"job {job.job_id} has no draft to decide")
        session = request[_SESSION]
        assert session is not None
        fields = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        try:
            form = review.parse_form(fields, [a.idempotency_key for a in draft.actions])
            decision = review.decision_from(
                form,
                draft,
                job_id=job.job_id,
                reviewer_id=session.reviewer_id,
                decided_at=datetime.now(UTC),
            )
        except review.FormError as exc:
            return await self._draft(
                request, job, error=str(exc), reply_text=fields.get("reply"), status=400
            )
        await self.js.publish(
            jetstream.DRAFT_DECIDED,
            decision.SerializeToString(),
            headers={"Nats-Msg-Id": decision.decision_id},
        )
        log.info(
            "decision sent",
            extra={"decision": decision.decision_id, "reviewer": session.reviewer_id},
        )
        deadline = time.monotonic() + self.settings.decision_wait_seconds
        while time.monotonic() < deadline:
            stored = await decision_store.get_decision(self.pool, decision.decision_id)
            if stored is not None and stored.state != DecisionState.CARRYING_OUT:
                break
            await asyncio.sleep(0.1)
        raise web.HTTPSeeOther(f"/drafts/{quote(job.job_id, safe='')}#decisions")

    async def healthz(self, request: web.Request) -> web.StreamResponse:
        return web.Response(text="ok")

    async def favicon(self, request: web.Request) -> web.StreamResponse:
        return web.Response(status=204)


def _draft_of(job: job_store.JobRecord) -> events_pb2.DraftReady | None:
    if job.state != JobState.DRAFT_READY or job.outcome is None:
        return None
    draft = events_pb2.DraftReady()
    try:
        draft.ParseFromString(job.outcome)
    except DecodeError:
        return None
    return draft


def _outcome_of(job: job_store.JobRecord) -> dict[str, Any] | None:
    """A job without a draft: why (manual handling, failure)."""
    if job.outcome is None or job.state == JobState.DRAFT_READY:
        return None
    event: events_pb2.ManualHandling | events_pb2.JobFailed = (
        events_pb2.ManualHandling()
        if job.state == JobState.MANUAL_HANDLING
        else events_pb2.JobFailed()
    )
    with contextlib.suppress(DecodeError):
        event.ParseFromString(job.outcome)
    return review.as_dict(event)


def _decision_view(record: decision_store.DecisionDetail) -> dict[str, Any]:
    decision = events_pb2.DraftDecided()
    decision.ParseFromString(record.decision)
    results = events_pb2.ActionsExecuted()
    if record.results:
        results.ParseFromString(record.results)
    return {
        "decision_id": record.decision_id,
        "reviewer_id": record.reviewer_id,
        "state": record.state,
        "reason": record.reason,
        "created_at": record.created_at,
        "verdict": events_pb2.DecisionVerdict.Name(decision.verdict),
        "reply": record.reply,
        "comment": decision.comment,
        "corrected_topic": types_pb2.Topic.Name(decision.corrected_topic)
        if decision.corrected_topic
        else "",
        "corrected_urgent": decision.corrected_urgent
        if decision.HasField("corrected_urgent")
        else None,
        "results": review.as_dict(results).get("results", []),
    }


def _version(
    job: job_store.JobRecord, decisions: list[decision_store.DecisionDetail], *, stale: bool
) -> str:
    """Changes whenever what the draft page shows changes (the page and its state poll
    compute it the same way)."""
    states = ",".join(f"{d.decision_id}={d.state}" for d in decisions)
    return f"{job.state}|{stale}|{states}"


def create_app(console: Console) -> web.Application:
    """The console's routes."""
    app = web.Application(middlewares=[console.guard], client_max_size=256 * 1024)
    app.add_routes(
        [
            web.get("/login", console.login_page),
            web.post("/login", console.login),
            web.post("/logout", console.logout),
            web.get("/", console.queue_page),
            web.get("/queue", console.queue_view),
            web.get("/events", console.event_stream),
            web.get("/drafts/{job_id}", console.draft_page),
            web.get("/drafts/{job_id}/state", console.draft_state),
            web.post("/drafts/{job_id}/decision", console.decide),
            web.get("/healthz", console.healthz),
            web.get("/favicon.ico", console.favicon),
        ]
    )
    app.router.add_static("/static", str(_STATIC_FILES))
    return app


@contextlib.asynccontextmanager
async def serving(pool: asyncpg.Pool, nc: NATS, settings: ConsoleSettings) -> AsyncIterator[int]:
    """Serves the console while the context is open; yields the bound port."""
    events = QueueEvents()
    await events.subscribe(nc)
    app = create_app(Console(pool, nc.jetstream(), events, settings))
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    await site.start()
    port = int(runner.addresses[0][1]) if runner.addresses else settings.port
    log.info("review console listening", extra={"port": port})
    try:
        yield port
    finally:
        await runner.cleanup()
