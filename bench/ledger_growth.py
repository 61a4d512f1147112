"""A 1,000-object batch's ledger look-up against 10k and 1M ledger rows, alternated.

Each ledger is filled server-side (``generate_series``) in a database of its
own, created by the loader's own DDL (on the stand-in the sort key becomes an
index), and asked through the loader's own transport with the loader's own
look-up SQL: half of the batch is in the ledger, half is not. On Redshift the
sort key lets the scan skip blocks instead; the growth ratio, not the
milliseconds, is what carries over.
"""

from __future__ import annotations

import hashlib
import logging
import statistics
import time

from bench.standin import config_for, fresh_database
from s3redshift.identifiers import TableRef
from s3redshift.ledger import create_ledger_sql, loaded_among, loaded_identities_sql, lookup_chunks
from s3redshift.local import EmbeddedEnvironment, stand_in_loader

SIZES = {"10k": 10_000, "1m": 1_000_000}
BATCH = 1000
BUCKET = "bench-ledger"


def _key(n: int) -> str:
    return f"t0/2026/{n % 365:03d}/part-{n:08d}.csv"


def _fill(env: EmbeddedEnvironment, database: str, ledger: str, rows: int) -> None:
    db = env.connect(database=database)
    cursor = db.cursor()
    cursor.execute(
        f"INSERT INTO {ledger} SELECT '{BUCKET}', "
        "'t0/2026/' || lpad((n %% 365)::text, 3, '0') "
        "|| '/part-' || lpad(n::text, 8, '0') || '.csv', "
        "md5(n::text), 100, 'public.t0', 'b' || (n / 1000)::text, "
        "TIMESTAMP '2026-01-01' + n * INTERVAL '1 second' FROM generate_series(0, %s) AS n",
        (rows - 1,),
    )
    db.commit()
    db.autocommit = True
    cursor.execute(f"VACUUM ANALYZE {ledger}")
    db.close()


def _batch(rows: int) -> list[tuple[str, str, str]]:
    """Half present (spread over the whole history), half absent."""
    present = [
        (BUCKET, _key(n), hashlib.md5(str(n).encode()).hexdigest())  # noqa: S324 - test data
        for n in range(0, rows, rows // (BATCH // 2))
    ][: BATCH // 2]
    absent = [(BUCKET, _key(rows + n), "absent") for n in range(BATCH - len(present))]
    return present + absent


def measure(repeats: int = 9) -> dict[str, list[float]]:
    logging.getLogger("s3redshift").setLevel(logging.WARNING)
    samples: dict[str, list[float]] = {f"ledger_lookup_ms_{name}": [] for name in SIZES}
    with (
        EmbeddedEnvironment() as env,
        fresh_database(env, 1) as small,
        fresh_database(env, 1) as large,
    ):
        loaders = {}
        batches = {}
        for (name, rows), db in zip(SIZES.items(), (small, large), strict=True):
            loader = stand_in_loader(config_for(db.dsn))
            ledger = loader.ledger_for(TableRef("public", "t0"))
            assert ledger is not None
            for sql in create_ledger_sql(ledger):  # the loader's own DDL
                loader.transport.execute(sql)
            _fill(env, db.name, ledger.sql, rows)
            loaders[name] = (loader, ledger)
            batches[name] = _batch(rows)
        try:
            for _ in range(repeats):
                for name, (loader, ledger) in loaders.items():
                    batch = batches[name]
                    started = time.perf_counter()
                    found: set[tuple[str, str, str]] = set()
                    for chunk in lookup_chunks(batch):
                        rows_back = loader.transport.query(loaded_identities_sql(ledger, chunk))
                        found |= loaded_among(rows_back, chunk)
                    samples[f"ledger_lookup_ms_{name}"].append(
                        (time.perf_counter() - started) * 1000
                    )
                    if len(found) != BATCH // 2:
                        raise RuntimeError(f"look-up found {len(found)} of {BATCH // 2}")
        finally:
            for loader, _ in loaders.values():
                loader.close()
    small_ms, large_ms = (samples[f"ledger_lookup_ms_{name}"] for name in SIZES)
    samples["ledger_lookup_growth_1m_vs_10k"] = [
        large / small for small, large in zip(small_ms, large_ms, strict=True)
    ]
    return samples


def run() -> None:
    for name, values in measure().items():
        print(f"{name}: median {statistics.median(values):.2f}")
