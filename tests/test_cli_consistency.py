"""The CLI says the same thing the same way: a database that is down, Ctrl-C, a needless --config.

Real subprocesses against the embedded stand-in and moto: every command that
reads the database, pointed at a loopback port nothing listens on, prints one
wording of it; Ctrl-C during `load` says what committed and the tables agree;
`demo` and `config-schema` refuse a configuration instead of ignoring it;
`check` without a source checks the rules' plain table names.
"""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from conftest import stand_in_toml
from helpers import put
from s3redshift.cli import main
from s3redshift.local import EmbeddedEnvironment
from s3redshift.unreachable import CONNECTOR_FIX
from test_check import clean_env, line_of, marks
from test_cli_commands import SENTINEL, s3_event

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

KPIS_RULE = '[[tables]]\npattern = "kpis/**"\ntable = "kpis"\n[tables.format]\ntype = "csv"\n'
POLICY = '[tables.schema_policy]\nmatch = "name"\nevolve = ["add_columns"]\n'


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m s3redshift.local ARGS`` in ``env``, its output captured."""
    return subprocess.run(
        [sys.executable, "-m", "s3redshift.local", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


# --- one wording of a database that is down ---------------------------------------------


@pytest.fixture
def down(tmp_path: Path, embedded_env: EmbeddedEnvironment, s3: S3Client, bucket: str) -> Any:
    """A configuration naming a port nothing listens on, an object and its event."""
    port = closed_port()
    dsn = f"postgresql://loader@127.0.0.1:{port}/warehouse"
    config = tmp_path / "down.toml"
    config.write_text(stand_in_toml(dsn, password=SENTINEL) + KPIS_RULE + "ignore_header = 1\n")
    policy = tmp_path / "policy.toml"
    policy.write_text(config.read_text() + POLICY)
    obj = put(s3, bucket, "kpis/a.csv", "id,name\n1,a\n")
    event = tmp_path / "event.json"
    event.write_text(json.dumps(s3_event(bucket, obj.key, obj.size or 0, obj.etag or "")))
    expected = (
        f"cannot reach the database (127.0.0.1:{port}, database warehouse): Connection refused "
        f"(ConnectionRefusedError); fix: {CONNECTOR_FIX}"
    )
    return config, policy, event, expected, clean_env() | embedded_env.aws_env


@pytest.mark.parametrize(
    "command",
    [
        ["load", "s3://{bucket}/"],
        ["ledger"],
        ["ledger", "--failed", "s3://{bucket}/"],
        ["invoke", "{event}"],
        ["plan", "{event}"],
    ],
    ids=["load", "ledger", "ledger-failed", "invoke", "plan-with-schema-policy"],
)
def test_every_command_says_the_database_is_down_in_the_same_words(
    down: Any, bucket: str, command: list[str]
) -> None:
    config, policy, event, expected, env = down
    args = [a.format(bucket=bucket, event=event) for a in command]
    chosen = policy if command[0] == "plan" else config
    result = run(env, *args, "--config", str(chosen))
    assert SENTINEL not in result.stdout + result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("s3redshift: ")]
    assert "Traceback" not in result.stderr
    if command[0] == "plan":  # the COPY needs no database: planned, without the schema's part
        assert result.returncode == 0, result.stderr
        assert errors == [
            f"s3redshift: warning: {expected}; the plan has no schema statements for public.kpis"
        ]
        assert "-- public.kpis: schema changes not planned: " in result.stdout
        return
    assert result.returncode == 1, result.stderr
    # The same first line everywhere; `load` adds what it stopped, `invoke` the objects.
    assert errors[0].startswith(f"s3redshift: error: {expected}"), errors


def test_check_says_the_database_is_down_in_the_same_words(down: Any) -> None:
    config, _, _, expected, env = down
    result = run(env, "check", "--config", str(config))
    assert SENTINEL not in result.stdout + result.stderr
    assert result.returncode == 1
    assert (
        line_of(result.stdout, "database reachable")
        == f"\N{HEAVY BALLOT X} database reachable: {expected}"
    )


def test_load_says_what_stopped_and_debug_adds_the_traceback(down: Any, bucket: str) -> None:
    config, _, _, expected, env = down
    result = run(env, "load", f"s3://{bucket}/", "--config", str(config), "--debug")
    assert SENTINEL not in result.stdout + result.stderr
    assert result.returncode == 1
    assert "Traceback (most recent call last)" in result.stderr
    assert "ConnectionRefusedError" in result.stderr
    assert (
        f"s3redshift: error: {expected}; the load stopped and 1 object(s) did not load: run the "
        "same command again once that is fixed"
    ) in result.stderr.splitlines()


def test_ledger_with_debug_shows_the_traceback_and_the_same_line(down: Any) -> None:
    config, _, _, expected, env = down
    result = run(env, "ledger", "--debug", "--config", str(config))
    assert result.returncode == 1
    assert SENTINEL not in result.stdout + result.stderr
    assert "Traceback (most recent call last)" in result.stderr
    assert result.stderr.splitlines()[-1] == f"s3redshift: error: {expected}"


# --- Ctrl-C during load ------------------------------------------------------------------


def test_ctrl_c_during_load_says_what_committed_and_a_rerun_loads_the_rest(
    tmp_path: Path,
    embedded_env: EmbeddedEnvironment,
    pg_database: str,
    pg: Any,
    s3: S3Client,
    bucket: str,
) -> None:
    """Batch 1 (table a) commits; batch 2 waits on b's lock, held here; then SIGINT.

    The lock makes the moment deterministic: the interrupt lands inside batch
    2's open transaction, which must be rolled back, not committed or kept.
    """
    cursor = pg.cursor()
    cursor.execute("CREATE TABLE a (id INT, name VARCHAR(20))")
    cursor.execute("CREATE TABLE b (id INT, name VARCHAR(20))")
    pg.commit()
    config = tmp_path / "two.toml"
    config.write_text(
        stand_in_toml(embedded_env.database_dsn(pg_database), password=SENTINEL)
        + '[[tables]]\npattern = "{table}/**"\ntable = "{table}"\n'
        '[tables.format]\ntype = "csv"\nignore_header = 1\n'
    )
    for table in ("a", "b"):
        for n in range(4):
            put(s3, bucket, f"{table}/{n}.csv", f"id,name\n{n},{table}\n")
    holder = embedded_env.connect(pg_database)
    holding = holder.cursor()
    holding.execute("LOCK TABLE b IN ACCESS EXCLUSIVE MODE")
    env = clean_env() | embedded_env.aws_env
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "s3redshift.local",
            "load",
            f"s3://{bucket}/",
            "--batch-size",
            "4",
            "--config",
            str(config),
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        waiting_on_b(pg, process)
        process.send_signal(signal.SIGINT)
        assert process.stderr is not None
        asking = ""
        while not asking.startswith("s3redshift: interrupted; asking the ledger"):
            asking = process.stderr.readline()
            assert asking, "the load ended without asking the ledger"
        # The interrupt was handled (its session closed); the server's side of the
        # interrupted transaction waits for b's lock and holds its ledger's until then.
        holder.rollback()
        stdout, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
        holder.rollback()
        holder.close()
    assert SENTINEL not in stdout + stderr
    assert process.returncode == 130, stderr
    said = [line for line in stderr.splitlines() if line.startswith("s3redshift: ")]
    assert asking == (
        "s3redshift: interrupted; asking the ledger which of the 4 object(s) of the batch in "
        "progress committed (Ctrl-C again to stop asking)\n"
    )
    assert said == [
        "s3redshift: interrupted: 4 object(s) committed (public.a 4)",
        "s3redshift: nothing partial was kept: each table's load is one transaction, committed "
        "whole or not at all, and the one the interrupt stopped was rolled back",
        "s3redshift: run the same command again to load the rest: what committed is skipped as "
        "a duplicate",
    ]
    assert rows(pg, "SELECT count(*) FROM a") == 4
    assert rows(pg, "SELECT count(*) FROM b") == 0  # the interrupted transaction left nothing
    assert ledger_keys(pg) == [f"a/{n}.csv" for n in range(4)]
    assert idle_in_transaction(pg) == 0

    again = run(env, "load", f"s3://{bucket}/", "--batch-size", "4", "--config", str(config))
    assert again.returncode == 0, again.stderr
    assert "loaded 4, duplicate 4" in again.stdout
    assert rows(pg, "SELECT count(*) FROM b") == 4
    assert rows(pg, "SELECT count(*) FROM a") == 4
    assert ledger_keys(pg) == sorted(f"{t}/{n}.csv" for t in "ab" for n in range(4))


def waiting_on_b(pg: Any, process: subprocess.Popen[str]) -> None:
    """Return once table a holds batch 1 and the load waits for b's lock (its batch 2)."""
    for _ in range(600):
        if process.poll() is not None:
            raise AssertionError(f"the load ended first: {process.communicate()}")
        waiting = rows(
            pg,
            "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
            "WHERE c.relname = 'b' AND NOT l.granted",
        )
        if waiting and rows(pg, "SELECT count(*) FROM a") == 4:
            return
        time.sleep(0.1)
    raise AssertionError("the load never waited on table b")


def rows(pg: Any, sql: str) -> int:
    cursor = pg.cursor()
    cursor.execute(sql)
    [(count,)] = cursor.fetchall()
    pg.commit()
    return int(count)


def ledger_keys(pg: Any) -> list[str]:
    cursor = pg.cursor()
    cursor.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 's3redshift' "
        "AND table_name LIKE 'load_ledger%'"
    )
    keys: list[str] = []
    for (table,) in cursor.fetchall():
        cursor.execute(f'SELECT object_key FROM s3redshift."{table}"')
        keys += [str(key).rstrip() for (key,) in cursor.fetchall()]
    pg.commit()
    return sorted(keys)


def idle_in_transaction(pg: Any) -> int:
    return rows(pg, "SELECT count(*) FROM pg_stat_activity WHERE state LIKE 'idle in transaction%'")


# --- commands that take no configuration ------------------------------------------------


@pytest.mark.parametrize(
    "argv",
    [
        ["demo", "--config", "bad.toml"],
        ["--config", "bad.toml", "demo"],
        ["config-schema", "--config", "bad.toml"],
        ["--config=bad.toml", "config-schema"],
    ],
)
def test_commands_without_configuration_refuse_config(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as ended:
        main(argv)
    assert ended.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""  # the command did not run
    command = next(a for a in argv if not a.startswith("-") and a != "bad.toml")
    [line] = err.splitlines()
    assert line.startswith(f"s3redshift: error: {command} takes no configuration (")
    assert line.endswith(f"leave out --config (see s3redshift {command} --help)")


# --- check without a source ---------------------------------------------------------------


def test_check_without_a_source_fails_a_literal_table_that_does_not_exist(
    tmp_path: Path, embedded_env: EmbeddedEnvironment, pg_database: str, pg: Any
) -> None:
    config = tmp_path / "literal.toml"
    config.write_text(
        stand_in_toml(embedded_env.database_dsn(pg_database))
        + KPIS_RULE
        + '[[tables]]\npattern = "{table}/**"\ntable = "{table}"\n'
    )
    env = clean_env() | embedded_env.aws_env
    missing = run(env, "check", "--config", str(config))
    assert missing.returncode == 1, missing.stdout
    table = line_of(missing.stdout, "table public.kpis")
    assert table.startswith("\N{HEAVY BALLOT X} table public.kpis: the table does not exist")
    assert marks(missing.stdout)["load transaction public.kpis"] == "-"
    templated = line_of(missing.stdout, "tables of rule tables[1] ('{table}/**' -> {table})")
    assert templated.endswith(
        "give a source s3://BUCKET/PREFIX whose keys it maps to check those tables"
    )
    assert missing.stdout.splitlines()[-1] == "3 passed, 1 failed, 4 skipped"

    cursor = pg.cursor()
    cursor.execute("CREATE TABLE kpis (id INT, name VARCHAR(20))")
    pg.commit()
    present = run(env, "check", "--config", str(config))
    assert present.returncode == 0, present.stdout
    found = marks(present.stdout)
    assert found["table public.kpis"] == "\N{HEAVY CHECK MARK}"
    assert found["load transaction public.kpis"] == "\N{HEAVY CHECK MARK}"


def test_an_interrupted_backfill_counts_a_table_that_committed_after_the_interrupt(
    embedded_env: EmbeddedEnvironment, pg_database: str, pg: Any, s3: S3Client, bucket: str
) -> None:
    """Two tables in one batch: kpis is interrupted while other's transaction is held.

    other's transaction ends whole on its own thread after the interrupt (it
    commits): what ``load`` reports must include it, so the count waits for
    it and asks the ledger, and kpis keeps nothing.
    """
    from s3redshift.backfill import BackfillInterrupted, backfill
    from s3redshift.deadline import Deadline
    from s3redshift.ledger_queries import committed_since
    from s3redshift.loader import wait_for_interrupted_loads
    from test_loader import trapped_loader, two_tables

    two_tables(pg)
    held, release = threading.Event(), threading.Event()

    def before(sql: str) -> None:
        if sql.startswith("LOCK ") and '"other"' in sql:
            held.set()
            assert release.wait(timeout=30)
        if sql.startswith("LOCK ") and '"kpis"' in sql:
            assert held.wait(timeout=30)
            raise KeyboardInterrupt  # Ctrl-C inside kpis's open transaction

    objects = [
        put(s3, bucket, f"{t}/{n}.csv", f"id,name\n{n},a\n")
        for t in ("kpis", "other")
        for n in (1, 2)
    ]
    started = datetime.now(UTC)
    with trapped_loader(embedded_env, pg_database, s3, before) as loader:
        with pytest.raises(BackfillInterrupted) as stopped:
            backfill(loader, f"s3://{bucket}/", batch_size=10)
        assert stopped.value.reports == ()
        assert sorted(o.key for o in stopped.value.in_progress) == sorted(o.key for o in objects)
        release.set()
        assert wait_for_interrupted_loads(timeout=30)
        committed = committed_since(loader, stopped.value.in_progress, started, Deadline.after(30))
    assert sorted((key, table) for (_, key, _), table in committed.items()) == [
        ("other/1.csv", "public.other"),
        ("other/2.csv", "public.other"),
    ]
    assert rows(pg, "SELECT count(*) FROM other") == 2
    assert rows(pg, "SELECT count(*) FROM kpis") == 0


# --- the wording itself ----------------------------------------------------------------------


def test_the_wording_names_the_data_api_target_and_only_database_errors() -> None:
    from s3redshift.config import LoaderConfig
    from s3redshift.errors import ConnectionLostError, DatabaseConnectionError, LoadFailedError
    from s3redshift.unreachable import database_down

    config = LoaderConfig.from_mapping(
        {"target": {"transport": "data-api", "workgroup": "wg-1", "database": "sales"}}
    )
    error = DatabaseConnectionError(
        "AWS call for the Data API failed (DatabaseConnectionException)"
    )
    said = database_down(error, config.target)
    assert said is not None
    assert said.detail == (
        "cannot reach the database (Redshift Data API workgroup wg-1, database sales): "
        "AWS call for the Data API failed (DatabaseConnectionException)"
    )
    assert said.fix.startswith("check that the workgroup wg-1 exists in this Region")
    # A handler's error carries it among its errors; S3's lost connection is not the database.
    assert database_down(LoadFailedError("1 failed", errors=[error]), config.target) == said
    s3_down = ConnectionLostError("could not reach AWS for S3 GetObject")
    assert database_down(s3_down, config.target) is None


@pytest.mark.parametrize(
    ("inner", "cause"),
    [
        (
            ConnectionRefusedError(111, "Connection refused"),
            "Connection refused (ConnectionRefusedError)",
        ),
        (socket.gaierror(-2, "Name or service not known"), "Name or service not known (gaierror)"),
        (TimeoutError("timed out"), "timed out (TimeoutError)"),
        (None, "InterfaceError"),
    ],
)
def test_a_failed_connection_names_what_the_network_said_and_no_driver_text(
    inner: OSError | None, cause: str
) -> None:
    import pg8000.dbapi

    from s3redshift.errors import DatabaseConnectionError
    from s3redshift.transports.dbapi import translate_error

    driver = pg8000.dbapi.InterfaceError(f"Can't connect to postgresql://u:{SENTINEL}@db/x")
    driver.__cause__ = inner
    error = translate_error(driver)
    assert type(error) is DatabaseConnectionError
    assert error.retryable
    assert error.cause == cause
    assert SENTINEL not in str(error)
