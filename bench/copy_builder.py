"""How fast COPY statements are built and rendered (pure code, no I/O)."""

from __future__ import annotations

import time

from s3redshift.copy import CopyCommand, CopyOptions, CsvFormat, IamRole
from s3redshift.identifiers import TableRef

N = 20_000


def run() -> None:
    role = IamRole(arns="arn:aws:iam::123456789012:role/RedshiftCopy")
    fmt = CsvFormat(ignore_header=1)
    options = CopyOptions(date_format="auto", blanks_as_null=True)
    table = TableRef("analytics", "kpis")
    started = time.perf_counter()
    length = 0
    for n in range(N):
        command = CopyCommand(
            table=table,
            source=f"s3://data-bucket/_s3redshift/manifests/analytics.kpis/{n:032x}.manifest",
            manifest=True,
            format=fmt,
            authorization=role,
            region="eu-west-1",
            options=options,
        )
        length += len(command.to_sql())
    elapsed = time.perf_counter() - started
    print(f"commands built and rendered: {N}")
    print(f"per command: {elapsed / N * 1e6:.1f} us ({N / elapsed:,.0f}/s)")
    print(f"mean statement length: {length / N:.0f} characters")
