"""The docs site's generated pages are the generators' output, and help text stays text.

`make docs` builds the whole site strictly (broken links and anchors fail it);
these tests hold what that build cannot see: that the pages docs/gen_pages.py
writes through mkdocs-gen-files are exactly scripts/docs_pages.py's, and that
terminal help text cannot turn into Markdown markup on the way.
"""

from __future__ import annotations

import os
import runpy
import shutil
import subprocess
from pathlib import Path

import pytest
from scripts.docs_pages import PAGES, prose

ROOT = Path(__file__).resolve().parent.parent


def test_the_site_gets_every_generated_page_as_the_generator_writes_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mkdocs.config import load_config
    from mkdocs.structure.files import get_files
    from mkdocs_gen_files.editor import FilesEditor

    monkeypatch.chdir(ROOT)
    config = load_config(os.fspath(ROOT / "mkdocs.yml"))
    with FilesEditor(get_files(config), config, os.fspath(tmp_path)):
        runpy.run_path(os.fspath(ROOT / "docs" / "gen_pages.py"))
    for path, page in PAGES.items():
        assert (tmp_path / path).read_text(encoding="utf-8") == page(), path
    nav = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    assert all(f"- {path}" in nav or f": {path}" in nav for path in PAGES)


def test_help_text_keeps_its_code_spans_and_loses_no_character_to_markup() -> None:
    text = "kept in <ledger schema>.load_rejects; *.tmp and `a_b | c*` ignored [x] # not a heading"
    assert prose(text) == (
        "kept in \\<ledger schema\\>.load\\_rejects; \\*.tmp and `a_b | c*` ignored "
        "\\[x\\] \\# not a heading"
    )


def test_make_docs_fails_on_a_broken_link_and_a_broken_anchor(tmp_path: Path) -> None:
    """`make docs` is the strict gate: a page's broken link or anchor fails it, not just warns.

    The site is built from a copy of docs/ with one broken link and one broken
    anchor; everything else the build reads is the checkout's own (linked).
    """
    for name in ("Makefile", "mkdocs.yml", "CHANGELOG.md", ".venv", "scripts", "bench", "infra"):
        (tmp_path / name).symlink_to(ROOT / name)
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    page = tmp_path / "docs" / "lambda.md"
    text = page.read_text(encoding="utf-8")
    page.write_text(
        text.replace("(snapstart.md)", "(no-such-page.md)", 1).replace(
            "(deploy.md)", "(deploy.md#no-such-heading)", 1
        ),
        encoding="utf-8",
    )
    build = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "docs"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    output = build.stdout + build.stderr
    assert build.returncode != 0, output
    assert "no-such-page.md" in output
    assert "#no-such-heading" in output
