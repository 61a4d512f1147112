"""The docs site's generated pages are the generators' output, and help text stays text.

`make docs` builds the whole site strictly (broken links and anchors fail it);
these tests hold what that build cannot see: that the pages docs/gen_pages.py
writes through mkdocs-gen-files are exactly scripts/docs_pages.py's, and that
terminal help text cannot turn into Markdown markup on the way.
"""

from __future__ import annotations

import os
import runpy
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
