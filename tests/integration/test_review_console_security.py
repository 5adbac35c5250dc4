"""The review console lets no one in anonymously and takes no forged form: sessions,
CSRF tokens, lock-out after wrong passwords, and reviewer accounts made by the CLI."""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import asyncpg
import pytest_asyncio

from crm.v1 import events_pb2
from crmctl.demo.orchestrator import DEMO_PASSWORD, DEMO_REVIEWER
from crmctl.events import publish_email
from tests.conftest import Mesh
from tests.integration.test_email_to_draft import new_email

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_FORM_ID = re.compile(r'name="form_id" value="([^"]+)"')


@pytest_asyncio.fixture
async def http(mesh: Mesh) -> AsyncIterator[aiohttp.ClientSession]:
    """A cookie-keeping client of the console (no redirects followed)."""
    async with aiohttp.ClientSession(
        base_url=mesh.stack.console_url, cookie_jar=aiohttp.CookieJar(unsafe=True)
    ) as session:
        yield session


async def _sign_in(http: aiohttp.ClientSession, reviewer: str, password: str) -> int:
    async with http.get("/login") as page:
        match = _CSRF.search(await page.text())
    assert match
    async with http.post(
        "/login",
        data={"csrf_token": match[1], "reviewer_id": reviewer, "password": password, "next": "/"},
        allow_redirects=False,
    ) as response:
        return response.status


async def _page_tokens(http: aiohttp.ClientSession, path: str) -> tuple[str, str]:
    async with http.get(path) as page:
        text = await page.text()
    csrf, form_id = _CSRF.search(text), _FORM_ID.search(text)
    assert csrf and form_id, text[:500]
    return csrf[1], form_id[1]


async def _draft(mesh: Mesh) -> events_pb2.DraftReady:
    email = new_email(2, "In stock?", "Do you have the Adidas Ultraboost in size 10?")
    await publish_email(mesh.js, email)
    _, draft = await mesh.outcomes.wait_for(email.job_id)
    assert isinstance(draft, events_pb2.DraftReady)
    return draft


async def test_anonymous_visitors_are_sent_to_sign_in_and_cannot_decide(
    mesh: Mesh, http: aiohttp.ClientSession
) -> None:
    draft = await _draft(mesh)
    async with http.get("/", allow_redirects=False) as response:
        assert response.status == 303
        assert response.headers["Location"] == "/login?next=/"
    async with http.get(f"/drafts/{draft.job_id}", allow_redirects=False) as response:
        assert response.status == 303
    async with http.post(
        f"/drafts/{draft.job_id}/decision", data={"verdict": "approve"}, allow_redirects=False
    ) as response:
        assert response.status == 401
    async with http.get("/events", headers={"Accept": "text/event-stream"}) as response:
        assert response.status == 401


async def test_a_signed_in_form_without_its_csrf_token_or_from_another_site_is_refused(
    mesh: Mesh, http: aiohttp.ClientSession
) -> None:
    draft = await _draft(mesh)
    assert await _sign_in(http, DEMO_REVIEWER, DEMO_PASSWORD) == 303
    session = next(c for c in http.cookie_jar if c.key == "crm_session")
    assert session["httponly"] and session["samesite"] == "Strict"
    csrf, form_id = await _page_tokens(http, f"/drafts/{draft.job_id}")
    form = {"form_id": form_id, "verdict": "reject", "reply": draft.reply}
    path = f"/drafts/{draft.job_id}/decision"
    async with http.post(path, data=form, allow_redirects=False) as response:
        assert response.status == 403
    async with http.post(
        path, data={**form, "csrf_token": "forged"}, allow_redirects=False
    ) as response:
        assert response.status == 403
    async with http.post(
        path,
        data={**form, "csrf_token": csrf},
        headers={"Origin": "https://evil.example"},
        allow_redirects=False,
    ) as response:
        assert response.status == 403
    assert not await _stored_decisions(mesh, draft.job_id)
    # The genuine form is taken; sending it twice (a double click) decides once.
    for _ in range(2):
        async with http.post(
            path, data={**form, "csrf_token": csrf}, allow_redirects=False
        ) as response:
            assert response.status == 303
    assert len(await _stored_decisions(mesh, draft.job_id)) == 1
    # Signing out ends the session.
    async with http.post("/logout", data={"csrf_token": csrf}, allow_redirects=False) as out:
        assert out.status == 303
    async with http.get("/", allow_redirects=False) as response:
        assert response.status == 303


async def _stored_decisions(mesh: Mesh, job_id: str) -> list[str]:
    conn = await asyncpg.connect(mesh.stack.owner_dsn("orchestrator"))
    try:
        rows = await conn.fetch(
            "SELECT decision_id FROM orchestrator.decisions WHERE job_id = $1", job_id
        )
    finally:
        await conn.close()
    return [r["decision_id"] for r in rows]


def _add_reviewer(mesh: Mesh, reviewer: str, password: str) -> subprocess.CompletedProcess[str]:
    command = str(Path(sys.executable).parent / "crm-orchestrator")
    env = {
        **os.environ,
        "DATABASE_URL": mesh.stack.runtime_dsn("orchestrator"),
        "REVIEWER_PASSWORD": password,
    }
    return subprocess.run(
        [command, "add-reviewer", reviewer, "--name", "Test Reviewer"],
        env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip


async def test_five_wrong_passwords_lock_the_account_until_it_is_reset(
    mesh: Mesh, http: aiohttp.ClientSession
) -> None:
    reviewer = f"r-{uuid.uuid4().hex[:8]}"
    weak = await asyncio.to_thread(_add_reviewer, mesh, reviewer, "short")
    assert weak.returncode != 0 and "at least" in weak.stderr
    made = await asyncio.to_thread(_add_reviewer, mesh, reviewer, "correct horse battery")
    assert made.returncode == 0, made.stderr
    assert await _sign_in(http, "nobody-here", "whatever-it-is") == 401
    for _ in range(5):
        assert await _sign_in(http, reviewer, "wrong password!") == 401
    assert await _sign_in(http, reviewer, "correct horse battery") == 401  # locked
    reset = await asyncio.to_thread(_add_reviewer, mesh, reviewer, "correct horse battery")
    assert reset.returncode == 0
    assert await _sign_in(http, reviewer, "correct horse battery") == 303


async def test_a_draft_page_is_current_even_when_the_customer_wrote_twice_since(
    mesh: Mesh, http: aiohttp.ClientSession
) -> None:
    case_id = f"case-{uuid.uuid4()}"
    jobs = []
    for n in range(3):
        email = new_email(2, f"Stock {n}", "Do you have the Adidas Ultraboost in size 10?")
        email.case_id = case_id
        await publish_email(mesh.js, email)
        await mesh.outcomes.wait_for(email.job_id)
        jobs.append(email.job_id)
    assert await _sign_in(http, DEMO_REVIEWER, DEMO_PASSWORD) == 303
    async with http.get(f"/drafts/{jobs[0]}") as page:
        shown = re.search(r'data-version="([^"]*)"', await page.text())
    async with http.get(f"/drafts/{jobs[0]}/state") as state:
        polled = (await state.json())["version"]
    # The page's poll must agree with the page, or it says "changed" at once.
    assert shown and shown[1] == polled
