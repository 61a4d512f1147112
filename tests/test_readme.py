"""The README and the hand-written pages stay true: short, linked, runnable, quoting real messages.

A new user follows the README on a fresh clone, so its examples are run here
rather than read: the stand-in example of the README and those of
docs/library.md (a pipeline, a Lambda batch) execute and must print what the
pages show. The links and the
``make`` targets it names must exist, and every message docs/troubleshooting.md
explains must still be one the code can print (an entry whose message was
reworded fails here instead of sending users after words they never see).
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from functools import cache
from pathlib import Path

import pytest

import s3redshift
import s3redshift.errors

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
README_LIMIT_BYTES = 8000

_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_FENCE = re.compile(r"```(\w*)\n(.*?)```", re.DOTALL)
_VARYING = "…"


def _blocks(text: str, language: str) -> list[str]:
    return [body for lang, body in _FENCE.findall(text) if lang == language]


def _example_and_output(text: str, marker: str) -> tuple[str, str]:
    """The Python block containing ``marker`` and the ``text`` block right after it."""
    for match in _FENCE.finditer(text):
        if match.group(1) == "python" and marker in match.group(2):
            after = _FENCE.search(text, match.end())
            assert after is not None, "no output block follows the example"
            assert after.group(1) == "text", "the block after the example is not its output"
            return match.group(2), after.group(2)
    raise AssertionError(f"no Python example containing {marker!r}")


def _run_example(code: str, cwd: Path) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=cwd,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_readme_fits_its_budget() -> None:
    assert len(README.read_bytes()) <= README_LIMIT_BYTES


MODULE_READMES = (
    ROOT / "infra" / "terraform" / "README.md",
    *sorted((ROOT / "infra" / "terraform" / "examples").glob("*/README.md")),
)
"""The module's READMEs: read where the module is (a Git host, a registry), not on the site."""


def test_every_relative_link_of_the_readme_names_a_file() -> None:
    targets = [t for t in _LINK.findall(README.read_text(encoding="utf-8")) if "://" not in t]
    assert targets, "the README links to no page"
    missing = [t for t in targets if not (ROOT / t.split("#", 1)[0]).is_file()]
    assert missing == []


@pytest.mark.parametrize("page", MODULE_READMES, ids=lambda p: p.parent.name)
def test_every_relative_link_of_the_module_readmes_names_a_file_or_folder(page: Path) -> None:
    """A Git host shows these pages: a link to a page only the site generates is broken there."""
    links = [t for t in _LINK.findall(page.read_text(encoding="utf-8")) if "://" not in t]
    missing = [t for t in links if not (page.parent / t.split("#", 1)[0]).exists()]
    assert missing == []


_RELEASE = re.compile(r"(?:ref=v|@v|--branch v|s3redshift-|s3redshift )(\d+\.\d+\.\d+)")
"""A release as the pages name it: a Git tag, a wheel or sdist, ``--version``'s answer."""


def test_every_release_the_pages_name_is_this_version() -> None:
    """The version has one place, ``s3redshift.__version__``; the pages' tags and wheels follow it.

    The changelog names every release and is left out.
    """
    pages = [README, *sorted(DOCS.glob("*.md")), *MODULE_READMES]
    named = {
        (page.relative_to(ROOT).as_posix(), version)
        for page in pages
        if page.name != "changelog.md"
        for version in _RELEASE.findall(page.read_text(encoding="utf-8"))
    }
    assert named, "no page names a release"
    assert sorted(n for n in named if n[1] != s3redshift.__version__) == []


def test_every_make_target_the_readme_names_is_in_the_makefile() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    defined = set(re.findall(r"^([A-Za-z][\w.-]*)\s*:(?!=)", makefile, flags=re.MULTILINE))
    named = set(re.findall(r"\bmake ([a-z][\w-]*)", README.read_text(encoding="utf-8")))
    assert {"demo", "test", "check", "lambda-zip"} <= named
    assert sorted(named - defined) == []


@pytest.mark.standin
def test_the_readme_stand_in_example_runs_and_prints_what_it_shows(tmp_path: Path) -> None:
    code, shown = _example_and_output(
        README.read_text(encoding="utf-8"), "from s3redshift.local import"
    )
    assert _run_example(code, tmp_path) == shown


def _stable(output: str) -> str:
    """Output with what differs run to run (times, batch ids, identities) replaced."""
    output = re.sub(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", "<time>", output)
    return re.sub(r"\b[0-9a-f]{32}\b", "<id>", output)


@pytest.mark.standin
def test_the_library_page_offline_example_runs_and_prints_what_it_shows(tmp_path: Path) -> None:
    code, shown = _example_and_output(
        (DOCS / "library.md").read_text(encoding="utf-8"), "EmbeddedEnvironment(patch_environ"
    )
    printed = _run_example(code, tmp_path)
    assert _stable(printed) == _stable(shown)
    assert "DataRejectedError 2 sales" in printed  # the bad file's line and column
    assert (tmp_path / "s3redshift.json").is_file()  # the CLI read the written configuration


@pytest.mark.standin
def test_the_library_page_handler_example_answers_what_it_shows(tmp_path: Path) -> None:
    code, shown = _example_and_output(
        (DOCS / "library.md").read_text(encoding="utf-8"), "from s3redshift.handler import"
    )
    printed = _run_example(code, tmp_path)
    assert printed == shown
    assert "m-2" in printed  # the message of the bad file comes back, and only it
    assert "m-1" not in printed


# --- docs/troubleshooting.md quotes messages the code prints -------------------------


@cache
def _source_templates() -> tuple[str, ...]:
    """Every string literal of src/, an f-string's replacement fields as ``\\0``."""
    templates: list[str] = []
    for path in sorted((ROOT / "src").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr):
                templates.append(
                    "".join(
                        part.value
                        if isinstance(part, ast.Constant) and isinstance(part.value, str)
                        else "\0"
                        for part in node.values
                    )
                )
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                templates.append(node.value)
    return tuple(templates)


def _in_source(quoted: str) -> bool:
    """Whether ``quoted`` (``…`` for each varying part) is the text of one string in src/."""
    pattern = ".*?".join(re.escape(piece) for piece in quoted.split(_VARYING))
    return any(re.search(pattern, template, re.DOTALL) for template in _source_templates())


def _quoted_headings() -> list[str]:
    text = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    return re.findall(r"^#{2,4} `([^`]+)`$", text, flags=re.MULTILINE)


def test_troubleshooting_quotes_only_messages_and_errors_the_code_has() -> None:
    headings = _quoted_headings()
    assert len(headings) >= 20
    error_classes = set(s3redshift.errors.__all__) | {"NotSupportedLocally"}
    not_found = [
        h
        for h in headings
        if h not in error_classes
        and (len(h.replace(_VARYING, "")) < 15 or not _in_source(h))  # literal words, not "…"
    ]
    assert not_found == []


def test_the_troubleshooting_matcher_refuses_words_the_code_never_prints() -> None:
    assert _in_source("cannot reach the database (…): …")
    assert not _in_source("cannot reach the database: …")  # a reworded message
    assert not _in_source("cannot reach the … (…): … of the warehouse")  # pieces out of order


def test_troubleshooting_names_every_permanent_error_class() -> None:
    text = (DOCS / "troubleshooting.md").read_text(encoding="utf-8")
    permanent = [
        name
        for name in s3redshift.errors.__all__
        if isinstance(cls := getattr(s3redshift.errors, name), type)
        and issubclass(cls, s3redshift.errors.PermanentError)
        and cls is not s3redshift.errors.PermanentError
    ]
    assert permanent, "the error tree has no permanent errors"
    assert [name for name in permanent if f"`{name}`" not in text] == []
