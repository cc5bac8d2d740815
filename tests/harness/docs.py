"""The commands the docs tell a user to type, read from the pages themselves.

A page shows a command to type in a ```console block: each command is a line
starting with ``$ `` (a line ending in a backslash continues it on the next
line), and the lines after it, up to the next ``$ ``, are what it prints. A test
takes the command from the page with ``documented_command`` (or a whole block,
in order, with ``documented_session``) and runs it as written with
``run_documented``, so the page and the test cannot drift apart.
``tests/app/test_docs.py`` finds those calls in the test files and fails when a
console command is taken by no test.

Commands that need a real platform or a host of your own (``git push heroku
main``, ``fly deploy``, ``sudo apt-get install ...``) go in ```sh platform
blocks instead; docs/testing.md says how the files they use are tested.
"""

from __future__ import annotations

import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.harness.paths import ROOT
from tests.harness.processes import run_program

PROMPT = "$ "
# An opening or closing fence, possibly indented inside a list item.
FENCE = re.compile(r"^(?P<indent> *)```(?P<info>.*)$")


@dataclass(frozen=True)
class Fence:
    """One fenced block of a page: its info string, its lines, where it starts."""

    page: str
    info: str
    line: int
    lines: tuple[str, ...]


def pages() -> list[str]:
    """Every page of the docs, as paths relative to the repository root."""
    docs = sorted(path.relative_to(ROOT) for path in (ROOT / "docs").glob("*.md"))
    return ["README.md", *(str(path) for path in docs)]


def fences(page: str) -> list[Fence]:
    """The fenced blocks of ``page``, with the fence's indentation removed."""
    found: list[Fence] = []
    opened: tuple[str, int, str] | None = None
    body: list[str] = []
    for number, line in enumerate((ROOT / page).read_text().splitlines(), 1):
        match = FENCE.match(line)
        if opened is None:
            if match:
                opened = (match["info"].strip(), number, match["indent"])
                body = []
            continue
        info, start, indent = opened
        if match and not match["info"].strip():
            found.append(Fence(page, info, start, tuple(body)))
            opened = None
        else:
            body.append(line.removeprefix(indent))
    if opened is not None:
        raise ValueError(f"{page}:{opened[1]}: fence never closed")
    return found


def steps_in(fence: Fence) -> list[tuple[str, list[str]]]:
    """Each command of a console block with the lines the page shows it print."""
    steps: list[tuple[str, list[str]]] = []
    continuing = False
    for line in fence.lines:
        if continuing:
            steps[-1] = (steps[-1][0] + "\n" + line, steps[-1][1])
        elif line.startswith(PROMPT):
            steps.append((line.removeprefix(PROMPT), []))
        elif steps and line.strip():
            steps[-1][1].append(line)
        continuing = line.endswith("\\")
    return steps


def commands_in(fence: Fence) -> list[str]:
    """The commands of one console block, continuation lines included."""
    return [command for command, _ in steps_in(fence)]


def console_blocks(page: str) -> list[Fence]:
    return [fence for fence in fences(page) if fence.info == "console"]


def documented_commands(page: str) -> list[str]:
    """Every command that ``page`` tells a user to type, in page order."""
    return [c for fence in console_blocks(page) for c in commands_in(fence)]


def documented_command(page: str, startswith: str) -> str:
    """The one command of ``page`` that starts with ``startswith``."""
    matches = [c for c in documented_commands(page) if c.startswith(startswith)]
    if len(matches) != 1:
        raise LookupError(
            f"{page}: {len(matches)} commands start with {startswith!r}: {matches}"
        )
    return matches[0]


def documented_output(page: str, startswith: str) -> list[str]:
    """The lines ``page`` shows the command that starts so print."""
    command = documented_command(page, startswith)
    steps = [step for fence in console_blocks(page) for step in steps_in(fence)]
    return next(output for text, output in steps if text == command)


def documented_session(page: str, startswith: str) -> list[str]:
    """All commands of the console block whose first command starts so."""
    blocks = [
        commands_in(fence)
        for fence in console_blocks(page)
        if commands_in(fence) and commands_in(fence)[0].startswith(startswith)
    ]
    if len(blocks) != 1:
        raise LookupError(f"{page}: {len(blocks)} blocks start with {startswith!r}")
    return blocks[0]


def run_documented(
    commands: str | list[str],
    cwd: Path,
    env: dict[str, str],
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the commands as written, one after another, in one bash.

    The shell stops at the first command that fails (``set -e``), as a reader
    would; ``env`` is the whole environment (nothing inherited by accident).
    """
    script = commands if isinstance(commands, str) else "\n".join(commands)
    return run_program(
        ["bash", "-e", "-o", "pipefail", "-c", script], env, cwd, timeout
    )
