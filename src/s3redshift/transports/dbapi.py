"""Running plans over a DB-API connection, and reading its errors.

``redshift_connector`` and ``pg8000`` share their lineage: the same
``format`` parameter style, autocommit off by default, and server errors
whose ``args[0]`` is a dict of protocol fields (``'C'`` SQLSTATE, ``'M'``
message, ``'D'`` detail). :func:`translate_error` reads that dict -- the one
place where database errors become :mod:`s3redshift.errors` -- and
:class:`DbApiTransport` runs a plan in one transaction over either driver.
Only the connection factory and the way a COPY step runs differ.

Redshift reports most of its own conditions as SQLSTATE ``XX000`` with the
meaning in the text, so the text decides for those: a rejected COPY names
the load-error tables ("Check 'stl_load_errors' system table for details",
or ``sys_load_error_detail``), a serialization conflict is error ``1023``
("Serializable isolation violation") or, under SNAPSHOT isolation, "conflict
with concurrent transaction".
"""

from __future__ import annotations

import contextlib
import re
import ssl
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any, Self, TypeVar

from s3redshift.copy import CopyCommand
from s3redshift.errors import (
    BatchConflictError,
    ConfigError,
    ConnectionLostError,
    CredentialsError,
    DatabaseConnectionError,
    DataRejectedError,
    LockTimeoutError,
    PermanentError,
    PermissionDeniedError,
    RetryableError,
    S3RedshiftError,
    SerializationConflictError,
    TargetMissingError,
    TimeBudgetExceededError,
    scrub_database_text,
)
from s3redshift.ledger import guard_fired
from s3redshift.transaction import (
    GUARD_ERRORS,
    GUARD_PURPOSE,
    UNLIMITED,
    CopyStep,
    Limits,
    SqlStep,
    TransactionPlan,
)

__all__ = ["CopyRunner", "DbApiTransport", "Session", "is_load_error", "translate_error"]

_E = TypeVar("_E", bound=BaseException)

CopyRunner = Callable[[Any, CopyCommand], int]
"""Carries out one COPY on a cursor and returns the rows loaded."""

# SQLSTATE classes and codes, read from the first two characters where a
# whole class means one thing. Redshift reports most errors as XX000 with a
# numeric code in the message; those are matched on the number.
_BY_CODE: Mapping[str, type[S3RedshiftError]] = {
    "40001": SerializationConflictError,  # serialization_failure
    "40P01": SerializationConflictError,  # deadlock_detected
    "55P03": LockTimeoutError,  # lock_not_available
    "57014": TimeBudgetExceededError,  # query_canceled (statement_timeout)
    "42P01": TargetMissingError,  # undefined_table
    "3F000": TargetMissingError,  # invalid_schema_name
    "3D000": TargetMissingError,  # invalid_catalog_name: the configured database does not exist
    "42501": PermissionDeniedError,  # insufficient_privilege
}
_BY_CLASS: Mapping[str, type[S3RedshiftError]] = {
    "08": DatabaseConnectionError,  # connection_exception
    "57": DatabaseConnectionError,  # operator intervention (admin shutdown, crash)
    "53": RetryableError,  # insufficient resources
    "28": CredentialsError,  # invalid authorization
    "22": DataRejectedError,  # data exception
    "23": DataRejectedError,  # integrity constraint violation
    "42": PermanentError,  # syntax error or access rule violation
    "0A": PermanentError,  # feature not supported
}
# Error 1023 carries its number in the message (seen as "1023" in 'M' with the
# explanation in 'D'); the number alone is trusted only with XX000, the words anywhere.
_SERIALIZATION_NUMBER = re.compile(r"\b1023\b")
_SERIALIZATION_TEXT = re.compile(
    r"serializable isolation violation|conflict with concurrent transaction", re.IGNORECASE
)
_LOAD_ERROR_TEXT = re.compile(r"stl_load_errors|sys_load_error_detail", re.IGNORECASE)


def _fields(exc: BaseException) -> Mapping[str, Any] | None:
    if exc.args and isinstance(exc.args[0], Mapping):
        return exc.args[0]
    return None


def _text(fields: Mapping[str, Any]) -> str:
    return scrub_database_text(" ".join(str(fields[k]) for k in ("M", "D") if fields.get(k)))


def _inner(exc: BaseException, kind: type[_E]) -> _E | None:
    """The ``kind`` error behind a driver error, if there is one.

    Drivers wrap what the network said: ``redshift_connector`` as an argument
    (``InterfaceError('communication error', ConnectionRefusedError(...))``),
    pg8000 as the cause.
    """
    seen: BaseException | None = exc
    for _ in range(4):  # the error, its argument or cause, and theirs: never deeper
        if seen is None:
            return None
        if isinstance(seen, kind):
            return seen
        inner = next((a for a in seen.args if isinstance(a, BaseException)), None)
        seen = inner or seen.__cause__ or seen.__context__
    return None


def _network_cause(exc: BaseException) -> str:
    """What the network said behind a failed connection, without a secret.

    The operating system's words and the error's class (``Connection refused
    (ConnectionRefusedError)``, ``Name or service not known (gaierror)``);
    only the class when there is no such error: a driver's own text may
    quote its connection arguments.
    """
    os_error = _inner(exc, OSError)
    if os_error is None:
        return type(exc).__name__
    # A socket timeout has no strerror; its text is "timed out".
    said = os_error.strerror or (str(os_error) if isinstance(os_error, TimeoutError) else "")
    return f"{said} ({type(os_error).__name__})" if said else type(os_error).__name__


def is_load_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a COPY that Redshift rejected for its data.

    Redshift then points at its load-error tables instead of describing the
    row; the details are read from those tables in the same session.
    """
    fields = _fields(exc)
    return fields is not None and _LOAD_ERROR_TEXT.search(_text(fields)) is not None


def _without_fields(
    exc: BaseException, *, table: str | None, s3_uri: str | None
) -> S3RedshiftError:
    """A driver error the server did not send: the connection's, else an unknown one."""
    name = type(exc).__name__
    if isinstance(exc, OSError | EOFError) or name in ("InterfaceError", "OperationalError"):
        cause = _network_cause(exc)
        return DatabaseConnectionError(
            f"the database connection failed: {cause}", cause=cause, table=table, s3_uri=s3_uri
        )
    return RetryableError(f"unexpected {name} from the database", table=table, s3_uri=s3_uri)


def translate_error(
    exc: BaseException,
    *,
    table: str | None = None,
    s3_uri: str | None = None,
    at_guard: bool = False,
) -> S3RedshiftError:
    """The project error for a driver error (already-translated errors pass through).

    Unknown errors are retryable: a transport failure that is not understood
    is more often passing than permanent, and a retry is bounded by the
    caller's time budget. ``at_guard`` says the failed statement is the
    ledger guard, whose abort Redshift may report without the marker
    (:func:`~s3redshift.ledger.guard_fired`); any other error there is
    translated as anywhere else.
    """
    if isinstance(exc, S3RedshiftError):
        return exc
    fields = _fields(exc)
    refused = _inner(exc, ssl.SSLCertVerificationError)
    if refused is not None:
        # Retrying cannot make the certificate valid; a person must correct the name or CA.
        return ConfigError(
            f"the database server's TLS certificate was refused ({refused.verify_message}): "
            "check that target.host is the endpoint name the certificate carries "
            "(sslmode verify-full checks it) and that it is a Redshift endpoint",
            table=table,
            s3_uri=s3_uri,
        )
    if fields is None:
        return _without_fields(exc, table=table, s3_uri=s3_uri)
    code = str(fields.get("C", ""))
    text = _text(fields)
    message = f"database error {code}: {text}" if code else f"database error: {text}"
    if guard_fired(text, at_guard=at_guard):
        cls, why = GUARD_ERRORS[GUARD_PURPOSE]  # the caller says which guard it was
        return cls(why, table=table, s3_uri=s3_uri)
    if _LOAD_ERROR_TEXT.search(text):
        return DataRejectedError(
            f"{message}; the rejected rows are in SYS_LOAD_ERROR_DETAIL (or STL_LOAD_ERRORS) "
            "for pg_last_copy_id(): correct the file or the table definition",
            table=table,
            s3_uri=s3_uri,
        )
    if _SERIALIZATION_TEXT.search(text) or (code == "XX000" and _SERIALIZATION_NUMBER.search(text)):
        return SerializationConflictError(
            f"{message}; a concurrent transaction touched the same tables: retry the load",
            table=table,
            s3_uri=s3_uri,
        )
    cls = _BY_CODE.get(code) or _BY_CLASS.get(code[:2], RetryableError)
    return cls(message, table=table, s3_uri=s3_uri)


def _run_copy_as_sql(cursor: Any, command: CopyCommand) -> int:
    cursor.execute(command.to_sql())
    return max(int(cursor.rowcount), 0)


class Session:
    """One DB-API connection of a transport's pool, lent to one call at a time.

    ``generation`` is the transport's count of :meth:`DbApiTransport.close`
    calls when the connection was opened: a session opened before the last
    close is closed when it comes back instead of being kept. A closed
    session (:meth:`close`) is never lent again.
    """

    __slots__ = ("closed", "connection", "generation")

    def __init__(self, connection: Any, generation: int) -> None:
        self.connection = connection
        self.generation = generation
        self.closed = False

    def close(self) -> None:
        """Close the connection (errors ignored: it is being given up)."""
        self.closed = True
        with contextlib.suppress(Exception):
            self.connection.close()


class DbApiTransport:
    """Runs each plan in one transaction on a pooled DB-API session.

    Each call of :meth:`run`, :meth:`query` and :meth:`execute` takes an idle
    session (or opens one with ``connect``), does its whole transaction on
    it and puts it back, so sequential calls keep reusing one session (a
    warm Lambda reuses it) and ``k`` calls at once from ``k`` threads open
    ``k`` sessions, kept for later calls. At most ``max_in_flight`` sessions
    are open at once; a call beyond that waits for one to come back (within
    its time budget). A session that an error may have broken is closed, not
    put back. The transport may be used from several threads at once; each
    session is used by one call at a time, as the drivers require (DB-API
    ``threadsafety = 1``). Subclasses say what opens each load transaction
    (:meth:`_prelude`) and what a failure becomes (:meth:`_failure`); the
    rest is shared.
    """

    limits: Limits = UNLIMITED
    """A session takes transactions of any size."""

    def __init__(
        self,
        connect: Callable[[], Any],
        *,
        copy_runner: CopyRunner | None = None,
        name: str = "connector",
        clock: Callable[[], float] = time.monotonic,
        max_in_flight: int = 1,
    ) -> None:
        if max_in_flight < 1:
            raise ValueError(f"max_in_flight must be at least 1, not {max_in_flight}")
        self.name = name
        self.max_in_flight = max_in_flight
        """How many calls may run at once (from different threads), each on its own session."""
        self._connect = connect
        self._copy_runner = copy_runner or _run_copy_as_sql
        self._clock = clock
        self._pool = threading.Condition()  # guards the three below
        self._idle: list[Session] = []  # the last one back is lent first
        self._opened = 0  # sessions open: idle, lent, or being opened
        self._generation = 0  # close() calls so far

    def _acquire(self, deadline: float | None, *, table: str) -> tuple[Session, bool]:
        """An idle or new session, and whether the call had to wait for it.

        Waits while ``max_in_flight`` sessions are out, until ``deadline``
        (a :attr:`_clock` time) at the latest. Connecting happens outside
        the lock, so that other calls take and return sessions meanwhile.
        """
        waited = False
        with self._pool:
            while not self._idle and self._opened >= self.max_in_flight:
                left = None if deadline is None else deadline - self._clock()
                if left is not None and left <= 0:
                    raise TimeBudgetExceededError(
                        f"the time budget ran out while {self.max_in_flight} database "
                        "sessions (max_in_flight) were busy; the objects are loaded on the "
                        "next attempt",
                        table=table or None,
                    )
                self._pool.wait(left)
                waited = True
            if self._idle:
                return self._idle.pop(), waited
            self._opened += 1
            generation = self._generation
        try:
            connection = self._connect()
        except BaseException as exc:
            self._forget()
            if isinstance(exc, Exception):
                raise translate_error(exc) from exc
            raise
        return Session(connection, generation), waited

    def _forget(self) -> None:
        """Give up the place of a session that is closed or was never opened."""
        with self._pool:
            self._opened -= 1
            self._pool.notify()

    def _release(self, session: Session) -> None:
        """Put ``session`` back for the next call, or close it if it cannot be kept."""
        # A session left in autocommit would commit a later load's statements one by one.
        usable = not session.closed and not getattr(session.connection, "autocommit", False)
        with self._pool:
            keep = usable and session.generation == self._generation
            if keep:
                self._idle.append(session)
                self._pool.notify()
        if not keep:
            if not session.closed:
                session.close()  # outside the lock: closing may wait for the network
            self._forget()

    @contextlib.contextmanager
    def _lend(
        self, time_budget: float | None, *, table: str
    ) -> Iterator[tuple[Session, Sequence[str], float | None]]:
        """A session for one transaction, its prelude, and the budget's deadline.

        A spent budget is refused before a session is taken. The prelude is
        computed again when the call waited for a session. After an exit that
        was not an error of the database, the session is discarded
        (:meth:`_discard`). In every case it is then returned
        (:meth:`_release`): kept for the next call unless it was closed.
        """
        deadline = None if time_budget is None else self._clock() + time_budget
        prelude = self._prelude(time_budget, table=table)
        session, waited = self._acquire(deadline, table=table)
        try:
            if waited and deadline is not None:
                prelude = self._prelude(deadline - self._clock(), table=table)
            yield session, prelude, deadline
        except BaseException as exc:
            if not isinstance(exc, Exception):  # errors: rolled back or closed by the call
                self._discard(session)
            raise
        finally:
            self._release(session)

    def run(self, plan: TransactionPlan, *, time_budget: float | None = None) -> int:
        table = str(plan.target)
        with self._lend(time_budget, table=table) as (session, prelude, deadline):
            connection = session.connection
            rows = 0
            step: SqlStep | CopyStep | None = None
            try:
                cursor = connection.cursor()
                for n, step in enumerate(plan.steps):
                    # Each statement gets what is left of the budget, so the whole
                    # transaction, not each statement, is bounded by it.
                    if n and deadline is not None:
                        prelude = self._prelude(deadline - self._clock(), table=table)
                    for sql in prelude:
                        cursor.execute(sql)
                    if isinstance(step, CopyStep):
                        loaded = self._copy_runner(cursor, step.command)
                        if step.purpose == "data":
                            rows += loaded
                    else:
                        cursor.execute(step.sql)
                connection.commit()
            except Exception as exc:
                raise self._failure(exc, plan, step, session) from exc
        return rows

    def _prelude(
        self, time_budget: float | None, *, table: str, local: bool = True
    ) -> Sequence[str]:
        """Statements that open every load transaction (none here).

        Called before anything is sent, so it may also refuse to start.
        ``local=False``: for statements run outside a transaction block, set
        for the session until :meth:`_reset` undoes them.
        """
        return ()

    def _reset(self) -> Sequence[str]:
        """What undoes a prelude made with ``local=False`` (none here)."""
        return ()

    def _failure(
        self,
        exc: Exception,
        plan: TransactionPlan,
        step: SqlStep | CopyStep | None,
        session: Session,
    ) -> S3RedshiftError:
        """The error to raise for ``exc``, after the transaction on ``session`` was abandoned."""
        s3_uri = None
        if isinstance(step, CopyStep) and len(step.objects) == 1:
            s3_uri = step.objects[0]
        guard = GUARD_ERRORS.get(step.purpose) if isinstance(step, SqlStep) else None
        error = translate_error(
            exc, table=str(plan.target), s3_uri=s3_uri, at_guard=guard is not None
        )
        if guard is not None and isinstance(error, BatchConflictError):
            cls, why = guard  # which guard fired says what it means
            error = cls(why, table=str(plan.target))
        return self._abandon(error, session)

    def query(self, sql: str, *, time_budget: float | None = None) -> list[tuple[Any, ...]]:
        with self._lend(time_budget, table="") as (session, prelude, _):
            connection = session.connection
            try:
                cursor = connection.cursor()
                for setting in prelude:
                    cursor.execute(setting)
                cursor.execute(sql)
                rows = [tuple(row) for row in cursor.fetchall()]
                connection.commit()
            except Exception as exc:
                raise self._abandon(translate_error(exc), session) from exc
        return rows

    def execute(
        self, *sqls: str, time_budget: float | None = None, autocommit: bool = False
    ) -> None:
        """Run ``sqls`` in order in one transaction: one commit, or nothing of them.

        Each statement is preceded by the prelude for what is left of the
        budget, as the steps of :meth:`run` are. ``autocommit``: the driver
        sends no ``BEGIN``, and each statement commits on its own.
        """
        if not sqls:
            return
        with self._lend(time_budget, table="") as (session, prelude, deadline):
            connection = session.connection
            try:
                connection.autocommit = autocommit
                cursor = connection.cursor()
                for n, sql in enumerate(sqls):
                    if (n or autocommit) and deadline is not None:
                        left = deadline - self._clock()
                        prelude = self._prelude(left, table="", local=not autocommit)
                    for statement in (*prelude, sql):
                        cursor.execute(statement)
                if not autocommit:
                    connection.commit()
            except Exception as exc:
                if autocommit:
                    self._leave_autocommit(session, reset=bool(prelude))
                raise self._abandon(translate_error(exc), session) from exc
            if autocommit:
                self._leave_autocommit(session, reset=bool(prelude))

    def _leave_autocommit(self, session: Session, *, reset: bool) -> None:
        """Back to transactions, the session-level prelude undone; else the session closes.

        A pooled session left in autocommit would commit the next load's
        statements one by one, so one that cannot be brought back is never
        lent again. (An interrupt never gets here: ``_lend`` discards its session.)
        """
        if session.closed:
            return
        try:
            session.connection.autocommit = False
            cursor = session.connection.cursor()
            for statement in self._reset() if reset else ():
                cursor.execute(statement)
            session.connection.commit()
        except Exception:
            session.close()

    def _abandon(self, error: S3RedshiftError, session: Session) -> S3RedshiftError:
        """Roll back after ``error``; close the session if it may be broken.

        A lost connection closes the idle sessions too: they went quiet for
        as long (a frozen Lambda container, a dropped network), and lending
        each one in turn would spend a load's attempts on dead sockets.
        """
        if isinstance(error, ConnectionLostError):
            session.close()  # a rollback could "succeed" on a dead socket
            self.close()
        else:
            try:
                session.connection.rollback()
            except Exception:  # unusable: the next call takes or opens another
                session.close()
        return error

    def _discard(self, session: Session) -> None:
        """Close ``session`` after an exit that was not an error of the database.

        A ``KeyboardInterrupt``, ``SystemExit`` or a timeout library's
        exception may arrive half-way through a statement, when the protocol
        state is unknown: a rollback could hang or "succeed" on a confused
        socket. Closing the session makes the server roll the transaction back
        and drop its temporary tables, and the next call takes another or
        opens a fresh one, so nothing of the interrupted transaction can be
        committed later.
        """
        session.close()

    def close(self) -> None:
        """Close every idle session; a session lent now is closed when it comes back.

        The transport stays usable: a later call opens a new session.
        """
        with self._pool:
            idle, self._idle = self._idle, []
            self._opened -= len(idle)
            self._generation += 1
            self._pool.notify_all()
        for session in idle:
            session.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
