"""A Data API that answers from inside botocore: what the loader sends, without Redshift.

A real boto3 ``redshift-data`` client is used; its calls are answered by a
``before-call`` handler (the seam botocore's Stubber uses), so nothing leaves
the process. Reads return what ``reads`` gives for their SQL (nothing by
default). It proves which statements are sent, how they are split, how many
calls they cost and when the loader sees them end -- not what Redshift would
do with them.

Time: a statement takes ``durations(sqls)`` seconds (0 by default: it has
finished when it is submitted) on ``clock``; until then it is ``STARTED``. A
call with ``WaitTimeSeconds`` (``ExecuteStatement``, ``BatchExecuteStatement``,
``DescribeStatement``) waits with ``sleep`` until the statement ends or the
wait is over, as the service's long poll does (a submission says its status
only then), unless ``honour_waits`` is off (it then answers at once);
``waits`` lists every ``WaitTimeSeconds`` asked for; ``clock`` and ``sleep`` are
real time unless given, so statements of several threads overlap as they
would. ``ended`` and ``seen`` hold, per statement id, when it ended and when
an answer first told the caller so: the difference is how late the end was
seen. ``fail(sql)`` gives the error text of a statement that fails (a batch
fails at its first such statement); ``refuse(operation, params)`` an error
code to answer a call with instead (``ThrottlingException``,
``ActiveStatementsExceededException``). ``ListStatements`` and
``ClientToken`` behave as the service's: a token sent again answers with the
statement it named. ``on_submit(sqls)`` sees each submission first (a test's
barrier: several submissions in flight at once).

``unreadable`` makes every ``DescribeStatement`` of a load batch (a named one) fail while it is
set (an AWS error code, or an exception raised as the network would), as when
the service has not yet published a statement it accepted or the connection
drops: what the loader does with a batch of unknown fate. ``calls`` counts
every operation by name; ``batches`` holds the load transactions (the named
batches), ``scripts`` the unnamed ones (set-up DDL), ``statements`` every
statement sent.

:func:`answered_client` builds the client from botocore's current model;
``long_polls=False`` from the same model without ``WaitTimeSeconds``, as an
older botocore (a Lambda runtime's) has it.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import botocore.loaders
import botocore.session
from botocore.awsrequest import AWSResponse

__all__ = ["AnsweredDataApi", "answered_client", "data_api_client"]

_SERVICE = "redshift-data"
_CREATED = datetime(2026, 12, 2, tzinfo=UTC)
_OK = AWSResponse("https://redshift-data.invalid", 200, {}, None)


def answered_client(api: AnsweredDataApi, *, long_polls: bool = True) -> Any:
    """A boto3 ``redshift-data`` client (fake keys) answered by ``api``."""
    return api.attach(data_api_client(long_polls=long_polls))


def data_api_client(*, long_polls: bool = True, region: str = "us-east-1") -> Any:
    """A real boto3 ``redshift-data`` client, fake keys; ``long_polls=False``: an older model."""
    session = boto3.Session(
        botocore_session=botocore.session.Session() if long_polls else _session_without_waits(),
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return session.client(_SERVICE)


def _session_without_waits() -> botocore.session.Session:
    """A botocore session whose redshift-data model has no ``WaitTimeSeconds`` anywhere."""
    session = botocore.session.Session()
    session.register_component("data_loader", _loader_without_waits())
    return session


class _LoaderWithoutWaits(botocore.loaders.Loader):
    """botocore's model loader, giving redshift-data's model without ``WaitTimeSeconds``."""

    def load_service_model(self, service_name: str, type_name: str, api_version: Any = None) -> Any:
        model = super().load_service_model(service_name, type_name, api_version)
        if service_name == _SERVICE and type_name == "service-2":
            model = copy.deepcopy(model)
            for shape in model["shapes"].values():
                shape.get("members", {}).pop("WaitTimeSeconds", None)
        return model


@functools.cache
def _loader_without_waits() -> botocore.loaders.Loader:
    return _LoaderWithoutWaits()


@dataclass
class _Statement:
    sid: str
    sqls: list[str]
    submitted: float
    ends: float
    batch: bool
    name: str | None
    error: tuple[int, str] | None  # (1-based failing statement, its error text)


class AnsweredDataApi:
    """Answers a boto3 ``redshift-data`` client's calls from inside botocore; records them."""

    def __init__(
        self,
        reads: Callable[[str], list[list[dict[str, Any]]]] | None = None,
        *,
        durations: Callable[[Sequence[str]], float] | None = None,
        fail: Callable[[str], str | None] | None = None,
        refuse: Callable[[str, dict[str, Any]], str | None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        honour_waits: bool = True,
        on_submit: Callable[[list[str]], None] | None = None,
    ) -> None:
        self.batches: list[list[str]] = []
        self.scripts: list[list[str]] = []
        self.statements: list[str] = []
        self.calls: Counter[str] = Counter()
        self.ended: dict[str, float] = {}
        self.seen: dict[str, float] = {}
        self.unreadable: str | BaseException | None = None
        self.waits: list[int] = []
        self._honour_waits = honour_waits
        self._on_submit = on_submit or (lambda sqls: None)
        self._reads = reads or (lambda sql: [])
        self._durations = durations or (lambda sqls: 0.0)
        self._fail = fail or (lambda sql: None)
        self._refuse = refuse or (lambda operation, params: None)
        self._clock = clock
        self._sleep = sleep
        self._ids = itertools.count(1)
        self._records: dict[str, list[list[dict[str, Any]]]] = {}
        self._statements: dict[str, _Statement] = {}
        self._tokens: dict[str, str] = {}
        self._lock = threading.Lock()

    def attach(self, client: Any) -> Any:
        client.meta.events.register_first(f"before-call.{_SERVICE}", self._answer)
        return client

    def _answer(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        body = json.loads(params["body"] or b"{}")
        name = model.name
        with self._lock:
            self.calls[name] += 1
        code = self._refuse(name, body)
        if code is not None:
            return self._error(code)
        if name in ("ExecuteStatement", "BatchExecuteStatement"):
            statement = self._submit(name, body)
            waited = self._waited(statement, body) if "WaitTimeSeconds" in body else {}
            return _OK, {"Id": statement.sid, "CreatedAt": _CREATED} | waited
        if name == "DescribeStatement":
            statement = self._statements[body["Id"]]
            if self.unreadable is not None and statement.name is not None:
                return self._unreadable(self.unreadable)
            return _OK, self._described(statement, self._waited(statement, body)["Status"])
        if name == "GetStatementResult":
            records = self._records.get(body["Id"], [])
            return _OK, {"Records": records, "ColumnMetadata": [], "TotalNumRows": len(records)}
        if name == "ListStatements":
            return _OK, {"Statements": self._listed(body.get("StatementName"))}
        raise AssertionError(f"unexpected Data API call {name}")

    def _submit(self, operation: str, body: dict[str, Any]) -> _Statement:
        self._on_submit(body.get("Sqls") or [body["Sql"]])
        with self._lock:
            token = body.get("ClientToken")
            if token in self._tokens:
                return self._statements[self._tokens[token]]
            sid = f"00000000-0000-0000-0000-{next(self._ids):012d}"
            sqls = body.get("Sqls") or [body["Sql"]]
            failing = [(n, text) for n, sql in enumerate(sqls, 1) if (text := self._fail(sql))]
            now = self._clock()
            statement = _Statement(
                sid,
                list(sqls),
                now,
                now + self._durations(sqls),
                batch=operation == "BatchExecuteStatement",
                name=body.get("StatementName"),
                error=failing[0] if failing else None,
            )
            self._statements[sid] = statement
            if token:
                self._tokens[token] = sid
            self.statements += sqls
            self.ended[sid] = statement.ends
            if statement.batch:
                (self.batches if statement.name else self.scripts).append(list(sqls))
            elif statement.error is None:
                self._records[sid] = self._reads(sqls[0])
        return statement

    def load_batches(self) -> list[tuple[float, float]]:
        """(submitted, ended) of each load transaction (named batch), in submission order."""
        return [(start, end) for start, end, _, named in self.timeline() if named]

    def timeline(self) -> list[tuple[float, float, list[str], bool]]:
        """(submitted, ended, statements, named) of every statement, in submission order."""
        with self._lock:
            known = list(self._statements.values())
        return [(s.submitted, s.ends, s.sqls, bool(s.batch and s.name)) for s in known]

    def _status(self, statement: _Statement) -> str:
        if self._clock() < statement.ends:
            return "STARTED"
        return "FAILED" if statement.error else "FINISHED"

    def _waited(self, statement: _Statement, body: dict[str, Any]) -> dict[str, Any]:
        """The statement's status after the call's long poll, if it asked for one."""
        wait = body.get("WaitTimeSeconds")
        if wait:
            with self._lock:
                self.waits.append(wait)
        now = self._clock()
        if wait and self._honour_waits and now < statement.ends:
            self._sleep(min(statement.ends, now + wait) - now)
        status = self._status(statement)
        if status != "STARTED":
            with self._lock:
                self.seen.setdefault(statement.sid, self._clock())
        rows = bool(self._records.get(statement.sid)) or not statement.batch
        return {"Status": status, "HasResultSet": rows and status == "FINISHED"}

    def _described(self, statement: _Statement, status: str) -> dict[str, Any]:
        failed_at, error = statement.error or (0, "")
        subs = [
            {
                "Id": f"{statement.sid}:{n}",
                "Status": _sub_status(status, n, failed_at),
                "ResultRows": 0,
            }
            | ({"Error": error} if n == failed_at and status == "FAILED" else {})
            for n in range(1, len(statement.sqls) + 1)
        ]
        answer: dict[str, Any] = {
            "Id": statement.sid,
            "Status": status,
            "HasResultSet": not statement.batch and status == "FINISHED",
        }
        if status == "FAILED":
            answer["Error"] = error
        return answer | ({"SubStatements": subs} if statement.batch else {})

    def _listed(self, name: str | None) -> list[dict[str, Any]]:
        with self._lock:
            found = [s for s in self._statements.values() if name and s.name == name]
        return [
            {"Id": s.sid, "StatementName": s.name, "Status": self._status(s), "CreatedAt": _CREATED}
            for s in found
        ]

    @staticmethod
    def _error(code: str) -> tuple[Any, dict[str, Any]]:
        error = AWSResponse("https://redshift-data.invalid", 400, {}, None)
        return error, {
            "Error": {"Code": code, "Message": f"refused: {code}"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }

    @classmethod
    def _unreadable(cls, fault: str | BaseException) -> tuple[Any, dict[str, Any]]:
        if isinstance(fault, BaseException):
            raise fault
        return cls._error(fault)


def _sub_status(status: str, n: int, failed_at: int) -> str:
    """A batch's n-th statement's status: those after a failed one are aborted."""
    if status != "FAILED":
        return status
    return "FINISHED" if n < failed_at else "FAILED" if n == failed_at else "ABORTED"
