"""A small Dockerfile reader: the instructions of each stage, as `docker build` sees them.

Enough for the project's own Dockerfiles: parser directives and comments, line
continuations, exec (JSON) and shell forms, `ENV KEY=VALUE ...`, `FROM image AS name`.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True)
class Instruction:
    """One instruction: its keyword (upper case) and its arguments as written."""

    keyword: str
    args: str

    def exec_form(self) -> list[str]:
        """The arguments of an exec-form instruction (a JSON array)."""
        value = json.loads(self.args)
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ValueError(f"{self.keyword} is not in exec form: {self.args}")
        return [str(v) for v in value]


@dataclass
class Stage:
    """A build stage: its base image, its name and its instructions after FROM."""

    image: str
    name: str | None
    instructions: list[Instruction] = field(default_factory=list)

    def all(self, keyword: str) -> list[Instruction]:
        return [i for i in self.instructions if i.keyword == keyword]

    def env(self) -> dict[str, str]:
        """The stage's ENV settings, later ones winning, values as written ($VAR unexpanded)."""
        values: dict[str, str] = {}
        for instruction in self.all("ENV"):
            values.update(parse_env(instruction.args))
        return values


@dataclass
class Dockerfile:
    """The stages of a Dockerfile, in order."""

    path: Path
    stages: list[Stage]

    @property
    def final(self) -> Stage:
        return self.stages[-1]

    def stage(self, name: str) -> Stage:
        return next(s for s in self.stages if s.name == name)


def logical_lines(text: str) -> list[str]:
    """Joins continued lines and drops comments and parser directives."""
    lines: list[str] = []
    current = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if stripped.startswith("#") or (not stripped and not current):
            continue
        if stripped.endswith("\\"):
            current += stripped[:-1].rstrip() + " "
            continue
        current += stripped
        if current.strip():
            lines.append(current.strip())
        current = ""
    if current.strip():
        lines.append(current.strip())
    return lines


def parse(path: Path) -> Dockerfile:
    """Reads a Dockerfile into its stages."""
    stages: list[Stage] = []
    for line in logical_lines(path.read_text()):
        keyword, _, args = line.partition(" ")
        keyword = keyword.upper()
        args = args.strip()
        if keyword == "FROM":
            words = args.split()
            words = [w for w in words if not w.startswith("--platform")]
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else None
            stages.append(Stage(image=words[0], name=name))
            continue
        if not stages:
            if keyword == "ARG":
                continue
            raise ValueError(f"{path}: {keyword} before FROM")
        stages[-1].instructions.append(Instruction(keyword, args))
    return Dockerfile(path, stages)


def parse_env(args: str) -> dict[str, str]:
    """`ENV A=1 B="two words"` (the legacy `ENV A 1` form is refused)."""
    values: dict[str, str] = {}
    for word in shlex.split(args, posix=True):
        key, sep, value = word.partition("=")
        if not sep:
            raise ValueError(f"ENV without '=': {args}")
        values[key] = value
    return values


def copy_args(instruction: Instruction) -> tuple[dict[str, str], list[str], str]:
    """(flags, sources, destination) of a COPY instruction."""
    words = shlex.split(instruction.args)
    flags = {}
    while words and words[0].startswith("--"):
        key, _, value = words.pop(0)[2:].partition("=")
        flags[key] = value
    if len(words) < 2:
        raise ValueError(f"COPY needs a source and a destination: {instruction.args}")
    return flags, words[:-1], words[-1]
