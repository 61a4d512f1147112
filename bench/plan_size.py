"""Statements and SQL bytes per transaction for large batches (Data API limits: 40, 100 KB)."""

from __future__ import annotations

import time

from s3redshift.config import LoaderConfig
from s3redshift.loader import Loader
from s3redshift.manifest import ManifestEntry

SIZES = (1, 100, 10_000)


def _config(mode: str) -> LoaderConfig:
    rule: dict[str, object] = {"pattern": "{table}/**", "schema": "public", "mode": mode}
    if mode == "upsert":
        rule |= {"keys": ["id"], "order_by": "ts", "columns": ["id", "val", "ts"]}
    return LoaderConfig.from_mapping(
        {
            "target": {"kind": "redshift", "transport": "data-api", "workgroup": "wg"},
            "copy": {"iam_role": "arn:aws:iam::123456789012:role/RedshiftCopy"},
            "tables": [rule],
        }
    )


def run() -> None:
    for mode in ("append", "replace", "upsert"):
        loader = Loader(_config(mode))
        target = loader.mapper.resolve("kpis/x.csv")
        assert target is not None
        for size in SIZES:
            entries = [
                ManifestEntry("data-bucket", f"kpis/2026/{n:06d}.csv", f"{n:032x}", 1000)
                for n in range(size)
            ]
            started = time.perf_counter()
            plan = loader.plan_target(target, entries, write=False)
            elapsed = time.perf_counter() - started
            sql = plan.statements(redact=False)
            total = sum(len(s.encode()) for s in sql)
            print(
                f"{mode:8s} {size:6d} objects: {len(sql):2d} statements, "
                f"{total / 1024:5.1f} KiB of SQL, planned in {elapsed * 1000:.1f} ms"
            )
