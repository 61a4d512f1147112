"""Where and how a load is broken: injection points, fault kinds, the injector.

Nothing of the project is patched. The database side is a proxy around the
stand-in's DB-API connection that recognises each protocol step by its SQL
text (or by the commit that ends a load transaction); the S3 side is
botocore's own ``before-call`` event on the S3 clients the loader and the
stand-in's COPY use. A fault fires the n-th time *any* loader of the schedule
reaches its point, once.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from botocore.awsrequest import AWSResponse, HTTPHeaders
from botocore.exceptions import EndpointConnectionError

from s3redshift.identifiers import quote_identifier
from s3redshift.ledger import GUARD_MARKER
from s3redshift.rejects import REJECTS_TABLE

__all__ = [
    "COMBINATIONS",
    "COMMIT_ORDER_SEQUENCE",
    "COPY_READ_KINDS",
    "COPY_READ_POINTS",
    "DB_KINDS",
    "DB_POINTS",
    "DDL_POINTS",
    "REJECTS_POINTS",
    "S3_KINDS",
    "S3_POINTS",
    "FaultConnection",
    "FaultSpec",
    "HookedS3",
    "InjectedFault",
    "InjectedInterrupt",
    "Injector",
    "Terminator",
]

DB_POINTS = (
    "ledger_read",  # the look-up query, outside the load transaction
    "ddl",  # a schema policy's CREATE TABLE / ADD COLUMN / widening of a target, autocommit
    "after_ddl",  # that statement committed, but the caller never hears of it
    "lock",
    "temp_table",  # CREATE TEMP TABLE s3redshift_batch
    "list_copy",  # COPY s3redshift_batch FROM <objects.csv>
    "guard",
    "data_copy",  # each data COPY
    "rejects_insert",  # a skip_rows rule's rows that COPY rejected, into load_rejects
    "ledger_insert",
    "commit",
    "after_commit",  # committed, but the caller never hears of it
)
S3_POINTS = ("head", "manifest_put", "list_put")
COPY_READ_POINTS = ("list_read", "data_read")  # S3 reads made by the stand-in's COPY
DDL_POINTS = ("ddl", "after_ddl")
"""Reached only by a rule with a schema policy whose table needs a change (``schema_evolve``)."""
REJECTS_POINTS = ("rejects_insert",)
"""Reached only by a rule with ``on_error = "skip_rows"`` (``skip_rows``), after each data COPY."""

DB_KINDS = ("exception", "base_exception", "terminate")
S3_KINDS = (
    "exception",
    "base_exception",
    "endpoint_down",
    "slow_down",
    "internal_error",
    "unavailable",
)
COPY_READ_KINDS = ("endpoint_down", "slow_down", "internal_error")

COMMIT_ORDER_SEQUENCE = "public.reliability_commit_order"
"""A sequence of the run's database; see :meth:`FaultConnection.commit`."""

COMBINATIONS: tuple[tuple[str, str], ...] = (
    *((p, k) for p in DB_POINTS for k in DB_KINDS),
    *((p, k) for p in S3_POINTS for k in S3_KINDS),
    *((p, k) for p in COPY_READ_POINTS for k in COPY_READ_KINDS),
)
"""Every (point, kind) pair the harness can inject."""

# Status and error code of each injected S3 error response.
_S3_ERRORS = {
    "slow_down": (503, "SlowDown", "Please reduce your request rate."),
    "internal_error": (500, "InternalError", "We encountered an internal error."),
    "unavailable": (503, "ServiceUnavailable", "Service is unable to handle request."),
}


class InjectedFault(Exception):  # noqa: N818 - what it is, not an error of the code
    """An ordinary exception thrown in by the harness."""


class InjectedInterrupt(BaseException):
    """Stands for KeyboardInterrupt or a timeout library's exception: not an Exception."""


@dataclass(frozen=True)
class FaultSpec:
    """Fire ``kind`` the ``occurrence``-th time any loader reaches ``point``.

    With ``where``, only arrivals whose request path contains it count (the
    HeadObject of one table's objects, say), so a fault can be aimed inside
    one table's batch whatever the other tables do.
    """

    point: str
    kind: str
    occurrence: int
    where: str = ""

    def __str__(self) -> str:
        where = f"[{self.where}]" if self.where else ""
        return f"{self.point}{where}#{self.occurrence}:{self.kind}"


@dataclass
class Injector:
    """The schedule's faults and how often each point was reached (thread-safe)."""

    faults: tuple[FaultSpec, ...]
    reached: dict[str, int] = field(default_factory=dict)
    fired: list[tuple[FaultSpec, str]] = field(default_factory=list)
    commit_order: dict[int, int] = field(default_factory=dict)
    """Transaction id of each load transaction that asked to commit -> its place in line."""
    ddl: list[tuple[str, str]] = field(default_factory=list)
    """Each target DDL statement that completed: (who, SQL), in no reliable order."""
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def note_commit(self, xid: int, place: int) -> None:
        with self._lock:
            self.commit_order[xid] = place

    def note_ddl(self, who: str, sql: str) -> None:
        with self._lock:
            self.ddl.append((who, sql))

    def hit(self, point: str, who: str, detail: str = "") -> FaultSpec | None:
        """Count one arrival at ``point`` (``detail``: its request path); the fault due, if any."""
        with self._lock:
            counters = {point} | {
                f"{point}[{f.where}]"
                for f in self.faults
                if f.point == point and f.where and f.where in detail
            }
            for counter in counters:
                self.reached[counter] = self.reached.get(counter, 0) + 1
            for fault in self.faults:
                counter = f"{point}[{fault.where}]" if fault.where else point
                if (
                    fault.point == point
                    and counter in counters
                    and self.reached[counter] == fault.occurrence
                ):
                    self.fired.append((fault, who))
                    return fault
        return None


class Terminator:
    """Kills a backend for real, from its own superuser connection."""

    def __init__(self, connect: Callable[[], Any]) -> None:
        self._connection = connect()
        self._connection.autocommit = True
        self._lock = threading.Lock()
        self.survivors: list[int] = []
        """Backends that were still alive 5 s after being told to terminate."""

    def kill(self, pid: int) -> None:
        """Terminate backend ``pid`` and wait (up to 5 s) until it has exited."""
        with self._lock:
            cursor = self._connection.cursor()
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", (pid,))
            [(gone,)] = cursor.fetchall()
            if not gone:
                self.survivors.append(pid)

    def close(self) -> None:
        self._connection.close()


def _raise(fault: FaultSpec, where: str) -> None:
    if fault.kind == "base_exception":
        raise InjectedInterrupt(f"injected at {where}")
    raise InjectedFault(f"injected at {where}")


_TARGET_DDL = re.compile(
    r"(?P<verb>CREATE TABLE IF NOT EXISTS|ALTER TABLE) (?P<table>\S+) (?P<rest>.*)", re.DOTALL
)


def _is_target_ddl(text: str, ledger_prefix: str) -> bool:
    """A schema policy's statement on a target: CREATE TABLE, ADD COLUMN or ALTER COLUMN TYPE.

    The ledger's and the failure log's own DDL (the same verbs, on tables of
    the ledger's schema) is not a target's.
    """
    match = _TARGET_DDL.match(text)
    if match is None:
        return False
    ledger_schema = ledger_prefix.rsplit(".", 1)[0] + "."
    if match["table"].startswith(ledger_schema):
        return False
    rest = match["rest"]
    if match["verb"].startswith("CREATE"):
        return True
    return rest.startswith("ADD COLUMN ") or (rest.startswith("ALTER COLUMN ") and " TYPE " in rest)


def classify(sql: str, ledger_prefix: str, in_load: bool) -> str | None:
    """The protocol step a statement is, by its text; None for the others.

    ``ledger_prefix`` is how every ledger table's quoted name starts (one
    ledger table per target, all in the ledger's schema, where
    ``load_rejects`` lives too). A target's DDL is ``ddl`` (its ``after_ddl``
    point is reached once the statement returns).
    """
    text = sql.lstrip()
    head = text[:60]
    rejects = f"{ledger_prefix.rsplit('.', 1)[0]}.{quote_identifier(REJECTS_TABLE)}"
    if not in_load and _is_target_ddl(text, ledger_prefix):
        return "ddl"
    if text.startswith("LOCK "):
        return "lock"
    if text.startswith("CREATE TEMP TABLE") and "s3redshift_batch" in head:
        return "temp_table"
    if text.startswith("COPY "):
        return "list_copy" if "s3redshift_batch" in head else "data_copy"
    if GUARD_MARKER in text:
        return "guard"
    if text.startswith(f"INSERT INTO {ledger_prefix}"):
        return "ledger_insert"
    if in_load and text.startswith(f"INSERT INTO {rejects} "):
        return "rejects_insert"
    if not in_load and text.startswith("SELECT") and f"FROM {ledger_prefix}" in text:
        return "ledger_read"
    return None


class FaultCursor:
    """A cursor that may fail a statement before it is sent."""

    def __init__(self, connection: FaultConnection, cursor: Any) -> None:
        self._connection = connection
        self._cursor = cursor

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        point = classify(sql, self._connection.ledger_prefix, self._connection.in_load)
        if point == "lock":
            self._connection.in_load = True
        if point is not None:
            self._connection.strike(point, before=True)
        result = self._cursor.execute(sql, *args, **kwargs)
        if point == "ddl":  # run with autocommit: the change is in, whatever comes next
            self._connection.note_ddl(sql)
            self._connection.strike("after_ddl", before=False)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cursor, name)


class FaultConnection:
    """A stand-in connection whose load steps can be broken.

    The backend's pid is read on open, so a ``terminate`` fault can kill this
    very session from the :class:`Terminator`'s connection and then let the
    statement go to the dead socket.
    """

    def __init__(
        self,
        inner: Any,
        *,
        injector: Injector,
        terminator: Terminator,
        ledger_prefix: str,
        who: str,
    ) -> None:
        self._inner = inner
        self._injector = injector
        self._terminator = terminator
        self.ledger_prefix = ledger_prefix
        self.who = who
        self.in_load = False
        cursor = inner.cursor()
        cursor.execute("SELECT pg_backend_pid()")
        self.pid = int(cursor.fetchall()[0][0])
        inner.commit()

    def strike(self, point: str, *, before: bool) -> None:
        """Inject the fault due at ``point``, if any.

        ``before`` faults happen before the statement (or COMMIT) is sent; the
        ``after_commit`` and ``after_ddl`` points have committed already, so
        every kind ends in an error the caller sees instead of the success it
        was owed.
        """
        fault = self._injector.hit(point, self.who)
        if fault is None:
            return
        if fault.kind == "terminate":
            self._terminator.kill(self.pid)
            if before:
                return  # the statement now goes to a dead connection
        if not before and fault.kind != "base_exception":
            from pg8000.exceptions import InterfaceError

            raise InterfaceError(f"network error: injected at {point}")
        _raise(fault, point)

    def note_ddl(self, sql: str) -> None:
        self._injector.note_ddl(self.who, sql)

    def cursor(self) -> FaultCursor:
        return FaultCursor(self, self._inner.cursor())

    @property
    def autocommit(self) -> bool:
        return bool(self._inner.autocommit)

    @autocommit.setter
    def autocommit(self, value: bool) -> None:
        # The transport switches it for a schema policy's DDL: set on the proxy
        # alone, the DDL would run in a transaction nobody commits.
        self._inner.autocommit = value

    def commit(self) -> None:
        """Commit; a load transaction first takes its place in the commit order.

        The transaction still holds its LOCK on the ledger, which every load
        takes first, so the sequence's order is the order of the commits
        (transaction ids are not: PostgreSQL assigns one before the LOCK waits).
        """
        in_load, self.in_load = self.in_load, False
        if in_load:
            cursor = self._inner.cursor()
            cursor.execute(
                f"SELECT txid_current() % 4294967296, nextval('{COMMIT_ORDER_SEQUENCE}')"
            )
            [(xid, place)] = cursor.fetchall()
            self._injector.note_commit(int(xid), int(place))
            self.strike("commit", before=True)
        self._inner.commit()
        if in_load:
            self.strike("after_commit", before=False)

    def rollback(self) -> None:
        self.in_load = False
        self._inner.rollback()

    def close(self) -> None:
        self._inner.close()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class HookedS3:
    """A long-lived S3 client whose requests may fail, for one schedule at a time.

    Clients cost about 0.1 s each to make, so the run keeps one pair per
    loader slot and points their hooks at the current schedule's injector.
    ``role`` is ``"loader"`` (HEAD, manifest and object-list writes) or
    ``"copy"`` (what the stand-in's COPY reads).
    """

    def __init__(self, client: Any, role: str) -> None:
        self.client = client
        self.role = role
        self.injector: Injector | None = None
        self.who = ""
        client.meta.events.register("before-call.s3.*", self._before_call)

    def _point(self, operation: str, path: str) -> str | None:
        if self.role == "copy":
            if operation in ("GetObject", "HeadObject"):
                return "list_read" if path.endswith(".objects.csv") else "data_read"
            return None
        if operation == "HeadObject":
            return "head"
        if operation == "PutObject":
            return "list_put" if path.endswith(".objects.csv") else "manifest_put"
        return None

    def _before_call(self, model: Any, params: dict[str, Any], **_: Any) -> Any:
        injector = self.injector
        if injector is None:
            return None
        path = unquote(str(params.get("url_path", "")))
        point = self._point(model.name, path)
        if point is None:
            return None
        fault = injector.hit(point, self.who, path)
        if fault is None:
            return None
        if fault.kind == "endpoint_down":
            # What botocore raises once its own retries against a dead endpoint gave up.
            raise EndpointConnectionError(endpoint_url=str(params.get("url", "")))
        if fault.kind in _S3_ERRORS:
            status, code, message = _S3_ERRORS[fault.kind]
            if model.name == "HeadObject":  # HEAD has no body: botocore reports the status
                code, message = str(status), ""
            response = AWSResponse(str(params.get("url", "")), status, HTTPHeaders(), None)
            parsed = {
                "Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": status},
            }
            return response, parsed
        _raise(fault, point)
        return None
