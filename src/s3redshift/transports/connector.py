"""The Redshift transport over ``redshift_connector``: a direct TCP session in the VPC.

:class:`ConnectorTransport` is :class:`~s3redshift.transports.dbapi.DbApiTransport`
with Redshift's behaviour filled in; what differs between production and the
local stand-in is only the connection factory it is given:

* :class:`RedshiftConnector` opens a ``redshift_connector`` session (the
  driver is imported on first connect; extra ``connector``) with TLS
  (``sslmode='verify-full'`` by default), TCP keep-alive and **no** socket
  ``timeout``: the driver applies that timeout to every read, so it would cut
  a long COPY (reference section 8). Work is bounded instead by ``SET LOCAL
  statement_timeout`` before each statement of a load transaction, from what
  is left of the time budget the loader passes to :meth:`ConnectorTransport.run`.
* the local stand-in (:mod:`s3redshift.local`, outside the product) plugs
  in its own factory, a pg8000 session that carries out COPY on PostgreSQL,
  and a COPY runner that hands it each :class:`~s3redshift.copy.CopyCommand`.

Authentication (:class:`PasswordAuth`, :class:`ClusterIamAuth`,
:class:`ServerlessIamAuth`): a password from any
:class:`~s3redshift.credentials.CredentialProvider`, asked for on each connect
(it caches), with one retry after :meth:`~CredentialProvider.clear` when the
login is refused, because a rotated secret looks exactly like that; or the
driver's own IAM modes, where it calls ``GetClusterCredentials`` (named
database user), ``GetClusterCredentialsWithIAM`` (``group_federation``: the
caller's IAM identity) or Serverless ``GetCredentials`` itself.

A rejected COPY: Redshift answers XX000 "Load into table ... failed. Check
'stl_load_errors' (or 'sys_load_error_detail') system table for details". The
transport rolls back, then reads the rejected rows for ``pg_last_copy_id()``
-- in the same session, where the id survives the rollback -- from
``SYS_LOAD_ERROR_DETAIL``, falling back to ``STL_LOAD_ERRORS`` (provisioned
clusters; Serverless has no STL tables) when the SYS view is missing or has
no row yet, and raises :class:`~s3redshift.errors.DataRejectedError` whose
details name the S3 URI, line, column, reason and code. [verify] on a real
cluster that SYS_LOAD_ERROR_DETAIL.query_id equals pg_last_copy_id() and that
its rows are visible right after the failure (the STL fallback covers a lag).
"""

from __future__ import annotations

import importlib
import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from s3redshift.config import ConnectorTarget
from s3redshift.errors import (
    ConfigError,
    DataRejectedError,
    LoadErrorDetail,
    PermissionDeniedError,
    RetryableError,
    S3RedshiftError,
    ThrottledError,
    TimeBudgetExceededError,
)
from s3redshift.load_error_logs import load_errors_sql
from s3redshift.transports.base import Preparable, Renewable
from s3redshift.transports.dbapi import DbApiTransport, Session, is_load_error

if TYPE_CHECKING:
    from s3redshift.config import LoaderConfig
    from s3redshift.credentials import CredentialProvider, DbCredentials
    from s3redshift.transaction import CopyStep, SqlStep, TransactionPlan

__all__ = [
    "LOAD_ERROR_LIMIT",
    "STL_LOAD_ERRORS_SQL",
    "SYS_LOAD_ERRORS_SQL",
    "ClusterIamAuth",
    "ConnectorAuth",
    "ConnectorTransport",
    "PasswordAuth",
    "RedshiftConnector",
    "ServerlessIamAuth",
    "connect_kwargs",
    "statement_timeout_sql",
]

LOAD_ERROR_LIMIT = 100
"""Rejected rows read back per failed COPY: usually one (MAXERROR 0); under a rule's
``on_error = "skip_rows"``, the first of the max_rejected_rows + 1 that failed it."""

SYS_LOAD_ERRORS_SQL = load_errors_sql("sys", "pg_last_copy_id()", limit=LOAD_ERROR_LIMIT)
"""The rejected rows of this session's last COPY (Serverless and provisioned)."""

STL_LOAD_ERRORS_SQL = load_errors_sql("stl", "pg_last_copy_id()", limit=LOAD_ERROR_LIMIT)
"""The same from the older table of provisioned clusters (CHAR columns, blank-padded)."""

SslMode = Literal["verify-ca", "verify-full"]


# --- authentication ---------------------------------------------------------------


@dataclass(frozen=True)
class PasswordAuth:
    """A database user and password from a credential provider (SSM, Secrets Manager...)."""

    provider: CredentialProvider


@dataclass(frozen=True)
class ClusterIamAuth:
    """The driver's IAM login to a provisioned cluster.

    With ``db_user`` the driver calls ``GetClusterCredentials`` for that
    database user (``db_groups``/``auto_create`` as that API takes them);
    without, ``GetClusterCredentialsWithIAM`` (``group_federation``), where
    the database user is the caller's IAM identity.
    """

    cluster_identifier: str
    db_user: str | None = None
    db_groups: tuple[str, ...] = ()
    auto_create: bool = False
    region: str | None = None

    @property
    def group_federation(self) -> bool:
        """Whether the caller's IAM identity is the database user."""
        return self.db_user is None


@dataclass(frozen=True)
class ServerlessIamAuth:
    """The driver's IAM login to a Redshift Serverless workgroup (``GetCredentials``)."""

    workgroup: str
    region: str | None = None


ConnectorAuth = PasswordAuth | ClusterIamAuth | ServerlessIamAuth


def connect_kwargs(
    *,
    host: str,
    port: int,
    database: str,
    auth: ConnectorAuth,
    credentials: DbCredentials | None = None,
    sslmode: SslMode = "verify-full",
) -> dict[str, Any]:
    """The keyword arguments for ``redshift_connector.connect``.

    ``credentials`` are required for :class:`PasswordAuth` and ignored
    otherwise. The result holds the password in clear for the driver: never
    log it. ``timeout`` is left out on purpose (see the module docstring).
    """
    kwargs: dict[str, Any] = {
        "host": host,
        "port": port,
        "database": database,
        "ssl": True,
        "sslmode": sslmode,
        "tcp_keepalive": True,
        # Notice a dead peer within about a minute, not the OS default of two hours.
        "tcp_keepalive_idle": 30,
        "tcp_keepalive_interval": 10,
        "tcp_keepalive_count": 3,
        "application_name": "s3redshift",
    }
    if isinstance(auth, PasswordAuth):
        if credentials is None:
            raise ValueError("password authentication needs the provider's credentials")
        kwargs["user"] = credentials.user
        kwargs["password"] = credentials.password.get_secret_value()
    elif isinstance(auth, ClusterIamAuth):
        kwargs["iam"] = True
        kwargs["cluster_identifier"] = auth.cluster_identifier
        if auth.group_federation:
            kwargs["group_federation"] = True
        else:
            kwargs["db_user"] = auth.db_user
            if auth.db_groups:
                kwargs["db_groups"] = list(auth.db_groups)
            if auth.auto_create:
                kwargs["auto_create"] = True
    else:
        kwargs["iam"] = True
        kwargs["is_serverless"] = True
        kwargs["serverless_work_group"] = auth.workgroup
    if not isinstance(auth, PasswordAuth) and auth.region is not None:
        kwargs["region"] = auth.region
    return kwargs


def _login_refused(exc: BaseException) -> bool:
    """SQLSTATE class 28 (invalid authorization): 28000 on Redshift, 28P01 on PostgreSQL."""
    fields = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else None
    return fields is not None and str(fields.get("C", "")).startswith("28")


def _aws_error(exc: BaseException) -> S3RedshiftError | None:
    """The project error for a botocore error raised by the driver's IAM login."""
    from s3redshift.aws_errors import aws_error_class, aws_error_code

    if not isinstance(getattr(exc, "response", None), dict):
        return None
    code = aws_error_code(exc)
    action = "redshift:GetClusterCredentials(WithIAM) or redshift-serverless:GetCredentials"
    cls = aws_error_class("redshift", code)
    if cls is PermissionDeniedError:
        return PermissionDeniedError(
            f"AWS refused the IAM database login ({code}); allow {action} for the loader's role"
        )
    if cls is ThrottledError:
        return ThrottledError(f"AWS throttled the IAM database login ({code}); retry later")
    if cls is RetryableError:
        return RetryableError(f"the IAM database login failed at AWS ({code or 'no code'})")
    return cls(f"AWS refused the IAM database login ({code}): check the target and sign-in")


@dataclass(frozen=True)
class RedshiftConnector:
    """Opens ``redshift_connector`` sessions: the production connection factory.

    ``driver_connect`` replaces ``redshift_connector.connect`` (for example to
    wrap it); by default the driver is imported on the first call.
    """

    host: str
    auth: ConnectorAuth
    port: int = 5439
    database: str = "dev"
    sslmode: SslMode = "verify-full"
    driver_connect: Callable[..., Any] | None = field(default=None, repr=False, compare=False)

    def kwargs(self, credentials: DbCredentials | None = None) -> dict[str, Any]:
        """The driver's keyword arguments (see :func:`connect_kwargs`)."""
        return connect_kwargs(
            host=self.host,
            port=self.port,
            database=self.database,
            auth=self.auth,
            credentials=credentials,
            sslmode=self.sslmode,
        )

    def prepare(self) -> None:
        """Import the driver and create the password provider's AWS client (no network)."""
        if self.driver_connect is None:
            _driver_connect()
        if isinstance(self.auth, PasswordAuth):
            self.auth.provider.prepare()

    def renew(self) -> None:
        """Forget the password provider's password and client.

        An IAM login's temporary credentials are the driver's own:
        redshift_connector caches them per process until they expire, and
        this does not reach that cache (nothing is in it before a first
        connection, so a Lambda snapshot holds none).
        """
        if isinstance(self.auth, PasswordAuth):
            self.auth.provider.renew()

    def __call__(self) -> Any:
        connect = self.driver_connect or _driver_connect()
        auth = self.auth
        if not isinstance(auth, PasswordAuth):
            try:
                return connect(**self.kwargs())
            except Exception as exc:
                mapped = _aws_error(exc)
                if mapped is None:
                    raise
                raise mapped from exc
        try:
            return connect(**self.kwargs(auth.provider.get()))
        except Exception as exc:
            if not _login_refused(exc):
                raise
        # The secret may have been rotated since the provider cached it: ask
        # the source once more. A second refusal is reported as it comes.
        auth.provider.clear()
        return connect(**self.kwargs(auth.provider.get()))


def _driver_connect() -> Callable[..., Any]:
    try:
        module = importlib.import_module("redshift_connector")
    except ImportError as exc:
        from s3redshift.extras import install_hint

        raise ConfigError(
            "target.transport = 'connector' needs the redshift_connector driver; "
            f"{install_hint('connector')}"
        ) from exc
    connect: Callable[..., Any] = module.connect
    return connect


# --- the transport -------------------------------------------------------------------


def statement_timeout_sql(time_budget: float, *, local: bool = True) -> str:
    """The statement that bounds each statement of the transaction by ``time_budget`` seconds.

    ``SET LOCAL`` ends with the transaction, committed or not, so a short
    budget never lingers on a reused session. [verify] that Redshift honours
    LOCAL for statement_timeout (its SET documents SESSION | LOCAL). Outside
    a transaction block (``local=False``) the session's own setting bounds
    the statement, and :data:`RESET_TIMEOUT_SQL` undoes it afterwards.
    """
    milliseconds = max(1, math.floor(time_budget * 1000))
    return f"SET {'LOCAL ' if local else ''}statement_timeout TO {milliseconds:d}"


RESET_TIMEOUT_SQL = "RESET statement_timeout"


class ConnectorTransport(DbApiTransport):
    """Runs load plans on Redshift over DB-API sessions from ``connect``.

    Sessions are pooled, one per call in flight (see
    :class:`~s3redshift.transports.dbapi.DbApiTransport`). COPY steps run as
    their SQL text (unless a ``copy_runner`` says otherwise). With a
    ``time_budget``, each statement of the transaction is preceded by
    :func:`statement_timeout_sql` for what is left of it; a budget already
    spent raises :class:`TimeBudgetExceededError` before anything more is
    sent. A statement may use all that is left, so the budget should leave
    the caller time to report.
    """

    @classmethod
    def from_config(cls, config: LoaderConfig) -> ConnectorTransport:
        """The transport for a ``transport = "connector"`` target.

        Password providers (static, ssm, secrets-manager) log in with the
        configured user; ``provider = "iam"`` uses the driver's IAM login for
        the configured workgroup or cluster (with ``credentials.user`` as the
        database user, or the caller's IAM identity when it is not set).
        ``target.max_in_flight`` bounds the sessions open at once.
        """
        target, creds = config.target, config.credentials
        assert isinstance(target, ConnectorTarget)  # open_transport dispatches on the type
        # copy.region is the bucket's Region (COPY's REGION clause), not the
        # cluster's: IAM sign-in uses the SDK's own Region (AWS_DEFAULT_REGION, set on Lambda).
        auth: ConnectorAuth
        if creds.provider != "iam":
            auth = PasswordAuth(config.credential_provider())
        elif target.workgroup:
            auth = ServerlessIamAuth(target.workgroup)
        elif target.cluster_identifier:
            auth = ClusterIamAuth(target.cluster_identifier, db_user=creds.user)
        else:
            raise ConfigError(
                "credentials.provider = 'iam' with the connector transport needs "
                "target.cluster_identifier (provisioned) or target.workgroup (Serverless)"
            )
        return cls(
            RedshiftConnector(
                host=target.host, port=target.port, database=target.database, auth=auth
            ),
            max_in_flight=target.max_in_flight,
        )

    def prepare(self) -> None:
        """Do the connection factory's set-up (driver import, AWS clients); connect later."""
        if isinstance(self._connect, Preparable):
            self._connect.prepare()

    def renew(self) -> None:
        """Close every session and forget the factory's cached credentials; connect anew later."""
        self.close()
        if isinstance(self._connect, Renewable):
            self._connect.renew()

    def _prelude(
        self, time_budget: float | None, *, table: str, local: bool = True
    ) -> Sequence[str]:
        if time_budget is None:
            return ()
        if time_budget <= 0:
            raise TimeBudgetExceededError(
                "the time budget ran out before the load transaction started; "
                "the objects are loaded on the next attempt",
                table=table,
            )
        return (statement_timeout_sql(time_budget, local=local),)

    def _reset(self) -> Sequence[str]:
        return (RESET_TIMEOUT_SQL,)

    def _failure(
        self,
        exc: Exception,
        plan: TransactionPlan,
        step: SqlStep | CopyStep | None,
        session: Session,
    ) -> S3RedshiftError:
        error = super()._failure(exc, plan, step, session)  # rolled back by now
        if not isinstance(error, DataRejectedError) or not is_load_error(exc):
            return error
        objects: tuple[str, ...] = getattr(step, "objects", ())
        details = tuple(_detail(row, objects) for row in self._load_error_rows(session))
        if not details and len(objects) == 1:
            # The tables could not be read, but a one-file COPY names its bad file.
            details = (_detail_from_message(exc, objects[0]),)
        if not details:
            return error
        files = {d.file for d in details}
        first = details[0]
        where = first.file if first.line is None else f"line {first.line} of {first.file}"
        if first.column:
            where += f", column {first.column}"
        more = f" (and {len(details) - 1} more rejected rows)" if len(details) > 1 else ""
        return DataRejectedError(
            f"COPY into {plan.target} rejected {where}: {first.reason} (code {first.code}){more}; "
            "correct the file or the table definition and load it again",
            details=details,
            s3_uri=first.file if len(files) == 1 else None,
            table=str(plan.target),
        )

    def _load_error_rows(self, session: Session) -> list[tuple[Any, ...]]:
        """The rejected rows of ``session``'s last COPY, SYS view first.

        ``session`` is the failed call's own, still lent to it: the copy id
        belongs to the session, not to the transport.
        """
        for sql in (SYS_LOAD_ERRORS_SQL, STL_LOAD_ERRORS_SQL):
            if session.closed:
                return []
            connection = session.connection
            try:
                cursor = connection.cursor()
                cursor.execute(sql)
                rows = [tuple(row) for row in cursor.fetchall()]
                connection.commit()
            except Exception:  # the table does not exist here: try the next one
                try:
                    connection.rollback()
                except Exception:
                    session.close()
                continue
            if rows:
                return rows
        return []


def _text(value: Any) -> str:
    # CHAR columns of the system tables come back blank-padded.
    return "" if value is None else str(value).rstrip()


def _detail(row: Sequence[Any], objects: Sequence[str]) -> LoadErrorDetail:
    file, line, column, reason, code = (tuple(row) + (None,) * 5)[:5]
    return LoadErrorDetail(
        file=_attribute(_text(file), objects),
        line=None if line is None else int(line),
        column=_text(column) or None,
        reason=_text(reason).strip(),
        code=_text(code).strip() or None,
    )


_DETAIL_LINE = re.compile(r"^\s*(error|code):\s*(.*?)\s*$", re.MULTILINE)


def _detail_from_message(exc: BaseException, file: str) -> LoadErrorDetail:
    """What Redshift's error itself says (its DETAIL has ``error:`` and ``code:`` lines)."""
    fields = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    found: dict[str, str] = {
        match.group(1): match.group(2) for match in _DETAIL_LINE.finditer(str(fields.get("D", "")))
    }
    reason = found.get("error") or str(fields.get("M", "rejected by COPY")).strip()
    return LoadErrorDetail(
        file=file, line=None, column=None, reason=reason, code=found.get("code") or None
    )


def _attribute(file: str, objects: Sequence[str]) -> str:
    """The plan's URI for a file name the system table may have cut or blank-trimmed."""
    if file in objects or not file:
        return file
    candidates = [uri for uri in objects if uri.rstrip() == file or uri.startswith(file)]
    return candidates[0] if len(set(candidates)) == 1 else file
