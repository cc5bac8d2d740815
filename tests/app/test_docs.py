"""README.md and docs/: links and file paths exist, and every command is tested.

"Every command the docs tell a user to type runs in a test" is kept here: a
console command counts as run when some test file calls ``documented_command``
or ``documented_session`` (tests/harness/docs.py) with literal arguments (or
module constants) that select it, or when it is one of the few commands CI
itself runs (``.ci/run``).
"""

from __future__ import annotations

import ast
import fnmatch
import re
import subprocess
from functools import cache
from pathlib import Path, PurePosixPath

import pytest

from tests.harness.docs import (
    commands_in,
    console_blocks,
    documented_commands,
    documented_session,
    fences,
    pages,
)
from tests.harness.paths import ROOT

# Markdown links and images: [text](target) and ![alt](target).
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
CODE_SPAN = re.compile(r"`([^`\n]+)`")
HEADING = re.compile(r"^#{1,6} (.+)$")
# Fences that hold no command: what a file or a program's answer looks like.
NOT_COMMANDS = frozenset({"text", "json", "ini", "toml", "nginx", "python"})
# A bare file name as the docs write one: `gunicorn.conf.py`, `Procfile`.
FILE_NAME = re.compile(
    r"^[\w][\w.-]*\.(?:py|md|toml|json|ya?ml|txt|cfg|sh|conf|ini|lua|lock|service)$"
    r"|^(?:Procfile|Dockerfile|Makefile|LICENSE)$"
)
# File names the docs mention on purpose although the repository has no such
# file: ones it must not have, the host's own, and ones a command writes.
NOT_IN_THE_REPOSITORY = {
    "runtime.txt": "Heroku deprecated it; the docs say why it is absent",
    "poetry.lock": "a second package-manager file fails Heroku's build",
    "uv.lock": "a second package-manager file fails Heroku's build",
    "Pipfile.lock": "a second package-manager file fails Heroku's build",
    "openapi.json": "what `flask openapi write openapi.json` writes",
    "nginx.conf": "Debian's own, on the host, which includes the site",
}
# Console commands that CI runs itself, with the line of .ci/run that does.
RUN_BY_CI = {("README.md", "make test"): "make test"}
# Console commands no test runs yet, each with the reason. The test below fails
# when one of them gets a test (take it off the list) or a new one appears.
WAITING_FOR_A_TEST: dict[tuple[str, str], str] = {
    ("docs/performance.md", "make bench"): "minutes of a quiet machine",
    (
        "docs/scaling.md",
        "RESILIENCE_SOAK_SECONDS=900 make resilience",
    ): "a 15-minute soak; the suite runs the same soak for 60 s",
}


@cache
def tracked_files() -> tuple[str, ...]:
    """The repository's files as git knows them: what a fresh clone has."""
    listing = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return tuple(name for name in listing.stdout.splitlines() if (ROOT / name).exists())


def exists_in_repository(path: str) -> bool:
    """A file, a folder (trailing slash or not) or a glob matching at least one."""
    pattern = path.rstrip("/")
    for name in tracked_files():
        if fnmatch.fnmatchcase(name, pattern) or any(
            fnmatch.fnmatchcase(str(parent), pattern)
            for parent in PurePosixPath(name).parents
        ):
            return True
    return False


def prose(page: str) -> list[tuple[int, str]]:
    """The numbered lines of a page outside its fenced blocks."""
    inside = {
        fence.line + offset
        for fence in fences(page)
        for offset in range(len(fence.lines) + 2)
    }
    lines = (ROOT / page).read_text().splitlines()
    return [(n, line) for n, line in enumerate(lines, 1) if n not in inside]


def slug(heading: str) -> str:
    """The anchor GitHub gives a heading."""
    text = heading.strip().lower().replace("`", "")
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(page: str) -> set[str]:
    return {slug(match[1]) for _, line in prose(page) if (match := HEADING.match(line))}


def test_every_page_is_found() -> None:
    names = pages()
    assert names[0] == "README.md"
    assert {"docs/heroku.md", "docs/testing.md", "docs/README.md"} <= set(names)


def test_every_page_is_in_the_index_and_on_the_front_page() -> None:
    index = (ROOT / "docs" / "README.md").read_text()
    front = (ROOT / "README.md").read_text()
    for page in pages()[2:]:  # README.md and docs/README.md are the two indexes
        name = PurePosixPath(page).name
        assert f"]({name})" in index, f"docs/README.md does not list {name}"
        assert f"]({page})" in front, f"README.md does not link {page}"


@pytest.mark.parametrize("page", pages())
def test_every_relative_link_leads_somewhere(page: str) -> None:
    broken = []
    for number, line in prose(page):
        for target in LINK.findall(line):
            if re.match(r"^[a-z]+:", target):
                continue  # https:, mailto:: not a file of this repository
            path, _, anchor = target.partition("#")
            file = (ROOT / page).parent / path if path else ROOT / page
            relative = file.resolve().relative_to(ROOT.resolve()).as_posix()
            if path and not exists_in_repository(relative):
                broken.append(f"{page}:{number}: {target} (no such file)")
            elif anchor and anchor not in anchors(relative):
                broken.append(f"{page}:{number}: {target} (no such heading)")
    assert broken == []


def named_paths(span: str) -> str | None:
    """The repository path a code span names, or None for any other code."""
    if " " in span or span.startswith(("/", "~", "$", ".")) or "://" in span:
        return None  # a command, a host path, a route, a URL, an extension
    if "/" in span:
        top = span.split("/", 1)[0]
        is_ours = any(name.split("/", 1)[0] == top for name in tracked_files())
        # Upper-case parts are placeholders: microblog/translations/LANG/...
        return re.sub(r"(?<=/)[A-Z_]+(?=/)", "*", span) if is_ours else None
    return span if FILE_NAME.match(span) else None


@pytest.mark.parametrize("page", pages())
def test_every_file_path_named_exists(page: str) -> None:
    missing = []
    for number, line in prose(page):
        for span in CODE_SPAN.findall(line):
            path = named_paths(span)
            if path is None or path in NOT_IN_THE_REPOSITORY:
                continue
            found = exists_in_repository(path) or (
                "/" not in path and exists_in_repository(f"**/{path}")
            )
            if not found:
                missing.append(f"{page}:{number}: `{span}`")
    assert missing == []


def test_files_said_to_be_absent_are_absent() -> None:
    present = [name for name in NOT_IN_THE_REPOSITORY if exists_in_repository(name)]
    assert present == []


def layout_map() -> list[str]:
    """The paths the README's layout map names, from its indentation."""
    (block,) = [fence for fence in fences("README.md") if fence.info == "text"]
    paths: list[str] = []
    parents: list[str] = []
    for line in block.lines:
        depth = (len(line) - len(line.lstrip(" "))) // 2
        name = line.split()[0]
        parents = parents[:depth]
        paths.append("".join(parents) + name)
        if name.endswith("/"):
            parents.append(name)
    return paths


def test_the_readme_layout_map_names_what_is_there() -> None:
    named = layout_map()
    assert {"microblog/", "tests/", "docs/"} <= set(named)
    assert [path for path in named if not exists_in_repository(path)] == []


def test_the_readme_starts_with_the_two_commands_and_stays_short() -> None:
    first_block = fences("README.md")[0]
    assert first_block.info == "console"
    assert commands_in(first_block) == ["make run", "make test"]
    assert len((ROOT / "README.md").read_text().splitlines()) <= 250


@pytest.mark.parametrize("page", pages())
def test_commands_are_in_console_or_platform_blocks(page: str) -> None:
    wrong = [
        f"{page}:{fence.line}: ```{fence.info}"
        for fence in fences(page)
        if fence.info not in {"console", "sh platform", *NOT_COMMANDS}
    ]
    assert wrong == [], "use ```console (tested) or ```sh platform"
    for fence in console_blocks(page):
        first = next(line for line in fence.lines if line.strip())
        assert first.startswith("$ "), f"{page}:{fence.line}: starts without '$ '"


def literal(node: ast.expr, constants: dict[str, object]) -> str:
    """The string an argument is: a literal, or a module constant's value."""
    value: object = None
    if isinstance(node, ast.Constant):
        value = node.value
    elif isinstance(node, ast.Name):
        value = constants.get(node.id)
    assert isinstance(value, str), f"line {node.lineno}: not a literal string"
    return value


def claims_in(source: str, filename: str) -> list[tuple[str, str]]:
    """The (page, command) pairs a test file takes from the docs."""
    tree = ast.parse(source, filename)
    # Module constants (PAGE = "docs/api.md") count as literals.
    constants: dict[str, object] = {
        target.id: node.value.value
        for node in tree.body
        if isinstance(node, ast.Assign) and isinstance(node.value, ast.Constant)
        for target in node.targets
        if isinstance(target, ast.Name)
    }
    claimed = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        name = function.attr if isinstance(function, ast.Attribute) else None
        name = function.id if isinstance(function, ast.Name) else name
        if name not in {"documented_command", "documented_session"}:
            continue
        values = [literal(arg, constants) for arg in node.args]
        where = f"{filename}:{node.lineno}"
        assert len(values) == 2, f"{where}: use literal arguments or module constants"
        page, prefix = values
        if name == "documented_session":
            claimed += [(page, c) for c in documented_session(page, prefix)]
        else:
            commands = documented_commands(page)
            claimed += [(page, c) for c in commands if c.startswith(prefix)]
    return claimed


def claimed_commands() -> set[tuple[str, str]]:
    claimed: set[tuple[str, str]] = set()
    # The helpers and this checker call them with variables; they run nothing.
    readers = {ROOT / "tests" / "harness" / "docs.py", Path(__file__).resolve()}
    for path in sorted((ROOT / "tests").rglob("*.py")):
        if path.resolve() not in readers:
            claimed.update(claims_in(path.read_text(), str(path.relative_to(ROOT))))
    return claimed


def test_ci_runs_the_commands_it_is_said_to_run() -> None:
    script = (ROOT / ".ci" / "run").read_text()
    for (page, command), line in RUN_BY_CI.items():
        assert command in documented_commands(page)
        assert re.search(rf"\b{re.escape(line)}$", script, re.MULTILINE)


def test_every_documented_command_runs_in_a_test() -> None:
    documented = {(page, c) for page in pages() for c in documented_commands(page)}
    unclaimed = documented - claimed_commands() - set(RUN_BY_CI)
    assert sorted(unclaimed - set(WAITING_FOR_A_TEST)) == [], "run by no test"
    # A command that got its test (or left the docs) leaves the waiting list.
    assert sorted(set(WAITING_FOR_A_TEST) - unclaimed) == [], "now tested or gone"


def requirement_names(file: str) -> set[str]:
    """The packages a requirements .in file names directly (not -r or -c lines)."""
    names = set()
    for line in (ROOT / file).read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-"):
            names.add(normalised(re.split(r"[<>=!~\[; ]", line, maxsplit=1)[0]))
    return names


def normalised(name: str) -> str:
    """A package name as PyPI compares them (PEP 503)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def dependency_tables() -> list[set[str]]:
    """The packages of each table under the README's Dependencies heading."""
    text = (ROOT / "README.md").read_text().split("\n## Dependencies\n", 1)[1]
    tables: list[set[str]] = []
    in_table = False
    for line in text.splitlines():
        if line.startswith("| package |"):
            tables.append(set())
            in_table = True
        elif in_table and line.startswith("|") and not line.startswith("|---"):
            first_column = line.split("|")[1]
            tables[-1].update(
                normalised(name) for name in re.findall(r"[\w.-]+", first_column)
            )
        elif not line.startswith("|"):
            in_table = False
    return tables


def test_the_readme_says_why_of_every_dependency() -> None:
    runtime, development = dependency_tables()
    assert requirement_names("requirements.in") - runtime == set()
    assert requirement_names("requirements-dev.in") - development == set()
