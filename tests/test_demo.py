"""`s3redshift demo` as a newcomer runs it: a subprocess, output checked line by line."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import psutil
import pytest
import sqlglot
from sqlglot import exp

from s3redshift.config import SEED_ENV

pytestmark = pytest.mark.standin  # each test runs the demo, which starts the stand-in


def test_demo_prints_the_four_items_and_leaves_nothing_running() -> None:
    env = {k: v for k, v in os.environ.items() if k not in SEED_ENV and k != "S3REDSHIFT_CONFIG"}
    env = {k: v for k, v in env.items() if not k.startswith("AWS_")}
    result = subprocess.run(
        [sys.executable, "-m", "s3redshift.cli", "demo"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    lines = out.splitlines()

    # 0. `s3redshift check` against the demo's stand-in: every check passes or is skipped.
    start = lines.index("0. `s3redshift check s3://s3redshift-demo/` against the stand-in:")
    checks = lines[start + 1 : lines.index("", start)]
    assert checks[-1] == "   14 checks done, 0 failed"  # a load transaction line per table
    assert sum("load transaction public." in line for line in checks) == 3
    assert not [line for line in checks if line.startswith("   \N{HEAVY BALLOT X}")]
    assert (
        "   \N{HEAVY CHECK MARK} table public.orders: exists, 3 column(s), INSERT allowed" in checks
    )

    # 1. The Redshift COPY that would run, redacted, one statement.
    [copy] = [line.strip() for line in lines if line.strip().startswith("COPY ")]
    assert copy.startswith(
        'COPY "public"."kpis" FROM \'s3://s3redshift-demo/_s3redshift/manifests/public.kpis/'
    )
    assert copy.endswith(
        ".manifest' IAM_ROLE 'arn:aws:iam::123456789012:role/RedshiftCopy' FORMAT AS CSV "
        "REGION AS 'us-east-1' MANIFEST IGNOREHEADER AS 1 COMPUPDATE OFF MAXERROR AS 0 "
        "STATUPDATE OFF;"
    )
    [parsed] = sqlglot.parse(copy.rstrip(";"), read="redshift")
    assert isinstance(parsed, exp.Copy)

    # 2. Rows per table, exact.
    rows = dict(re.findall(r"^\s+(public\.\w+)\s+(\d+) rows$", out, flags=re.MULTILINE))
    assert rows == {"public.kpis": "5", "public.orders": "4", "public.clicks": "3"}

    # 3. The replayed event, object by object.
    duplicates = [line for line in lines if line.endswith(": duplicate (already loaded)")]
    assert [d.strip().split(":", 2)[1] for d in duplicates] == [
        "//s3redshift-demo/kpis/2026/11/28/north.csv",
        "//s3redshift-demo/kpis/2026/11/28/south.csv",
    ]
    assert "-> duplicate 2:" in out

    # 4. The bad file's rejection with its line and column.
    assert (
        "s3://s3redshift-demo/orders/2026-11-28/part-0001.csv.gz line 3, column amount: "
        'invalid input syntax for type numeric: "twelve"'
    ) in out
    [batch] = [line for line in lines if line.startswith("SQS batch, 3 messages")]
    assert "loaded 2, failed 1; batchItemFailures: [" in batch
    assert "S3 event, 2 records, direct -> handler: loaded 2, rows 5" in out
    assert "unexpected" not in out

    # Nothing left behind: the postmaster is gone, and so is its directory.
    [header] = [line for line in lines if "stand-in: PostgreSQL" in line]
    match = re.search(r"pid (\d+), data in (\S+)\)", header)
    assert match is not None
    pid, temp_dir = int(match.group(1)), Path(match.group(2))
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not temp_dir.exists()
    leftovers = []
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = " ".join(proc.info["cmdline"] or [])
        if str(temp_dir) in cmdline:
            leftovers.append(cmdline)
    assert leftovers == []
