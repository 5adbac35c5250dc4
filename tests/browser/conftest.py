"""Headless Chromium (Debian's package, driven by Playwright) signed in to the review
console of the test mesh."""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, async_playwright

from crmctl.demo.orchestrator import DEMO_PASSWORD, DEMO_REVIEWER
from tests.conftest import Mesh

INSTALL_HINT = "sudo apt-get install -y chromium"
# Without these, Chromium tries Google's hosts at start, which this network refuses.
_QUIET = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    """Debian's Chromium (or CHROMIUM_PATH); the tests fail with the install command when
    it is missing (Playwright's own browser download is unreachable here)."""
    for candidate in (
        os.environ.get("CHROMIUM_PATH"),
        shutil.which("chromium"),
        shutil.which("chromium-browser"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    pytest.fail(
        f"Chromium is not installed; the browser tests need it: {INSTALL_HINT} "
        "(or set CHROMIUM_PATH)",
        pytrace=False,
    )


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Browser]:
    """One headless Chromium for the session."""
    path = chromium_path()
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(executable_path=path, args=_QUIET)
        yield launched
        await launched.close()


async def sign_in(page: Page, console_url: str, reviewer: str, password: str) -> None:
    """Signs in through the sign-in form, as a person would."""
    await page.goto(f"{console_url}/login")
    await page.fill("input[name=reviewer_id]", reviewer)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{console_url}/")


@pytest_asyncio.fixture
async def page(mesh: Mesh, browser: Browser) -> AsyncIterator[Page]:
    """A fresh browser context, signed in as the demo reviewer."""
    context = await browser.new_context(viewport={"width": 1400, "height": 1000})
    context.set_default_timeout(20_000)
    signed_in = await context.new_page()
    await sign_in(signed_in, mesh.stack.console_url, DEMO_REVIEWER, DEMO_PASSWORD)
    try:
        yield signed_in
    finally:
        await context.close()
