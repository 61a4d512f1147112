"""Write the site's generated pages (mkdocs-gen-files runs this at every build).

Each page is a function in scripts/docs_pages.py, which the tests read too,
so what they hold is what the site shows.
"""

from __future__ import annotations

import sys
from pathlib import Path

import mkdocs_gen_files

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from scripts.docs_pages import PAGES  # noqa: E402

for path, page in PAGES.items():
    with mkdocs_gen_files.open(path, "w") as out:
        out.write(page())
