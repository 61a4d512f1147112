"""A Data API that answers from inside botocore: what the loader sends, without Redshift.

A real boto3 ``redshift-data`` client is used; its calls are answered by a
``before-call`` handler (the seam botocore's Stubber uses), so nothing leaves
the process. Every statement "finishes"; reads return what ``reads`` gives
for their SQL (nothing by default). It proves which statements are sent and
how they are split, not what Redshift would do with them.

``unreadable`` makes every ``DescribeStatement`` of a batch fail while it is
set (an AWS error code, or an exception raised as the network would), as when
the service has not yet published a statement it accepted or the connection
drops: what the loader does with a batch of unknown fate. ``calls`` counts
every operation by name.
"""

from __future__ import annotations

import itertools
import json
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse

__all__ = ["AnsweredDataApi", "answered_client"]


def answered_client(api: AnsweredDataApi) -> Any:
    """A boto3 ``redshift-data`` client (fake keys) answered by ``api``."""
    return api.attach(
        boto3.client(
            "redshift-data",
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
    )


class AnsweredDataApi:
    """Answers a boto3 ``redshift-data`` client's calls from inside botocore; records batches."""

    def __init__(self, reads: Callable[[str], list[list[dict[str, Any]]]] | None = None) -> None:
        self.batches: list[list[str]] = []
        self.statements: list[str] = []
        self._reads = reads or (lambda sql: [])
        self._records: dict[str, list[list[dict[str, Any]]]] = {}
        self._ids = itertools.count(1)
        self._sizes: dict[str, int] = {}
        self.calls: Counter[str] = Counter()
        self.unreadable: str | BaseException | None = None

    def attach(self, client: Any) -> Any:
        client.meta.events.register_first("before-call.redshift-data", self._answer)
        return client

    def _answer(self, model: Any, params: dict[str, Any], **_: Any) -> tuple[Any, dict[str, Any]]:
        body = json.loads(params["body"] or b"{}")
        created = datetime(2026, 12, 2, tzinfo=UTC)
        ok = AWSResponse("https://redshift-data.invalid", 200, {}, None)
        name = model.name
        self.calls[name] += 1
        if name in ("ExecuteStatement", "BatchExecuteStatement"):
            sid = f"00000000-0000-0000-0000-{next(self._ids):012d}"
            sqls = body.get("Sqls") or [body["Sql"]]
            self.statements += sqls
            if name == "BatchExecuteStatement":
                self.batches.append(list(sqls))
            else:
                self._records[sid] = self._reads(sqls[0])
            self._sizes[sid] = len(sqls) if name == "BatchExecuteStatement" else 0
            return ok, {"Id": sid, "CreatedAt": created}
        if name == "DescribeStatement":
            sid = body["Id"]
            if self.unreadable is not None and self._sizes[sid]:
                return self._unreadable(self.unreadable)
            subs = [
                {"Id": f"{sid}:{n}", "Status": "FINISHED", "ResultRows": 0}
                for n in range(1, self._sizes[sid] + 1)
            ]
            return ok, {"Id": sid, "Status": "FINISHED", "HasResultSet": not subs} | (
                {"SubStatements": subs} if subs else {}
            )
        if name == "GetStatementResult":
            records = self._records.get(body["Id"], [])
            return ok, {"Records": records, "ColumnMetadata": [], "TotalNumRows": len(records)}
        if name == "ListStatements":
            return ok, {"Statements": []}
        raise AssertionError(f"unexpected Data API call {name}")

    @staticmethod
    def _unreadable(fault: str | BaseException) -> tuple[Any, dict[str, Any]]:
        if isinstance(fault, BaseException):
            raise fault
        error = AWSResponse("https://redshift-data.invalid", 400, {}, None)
        return error, {
            "Error": {"Code": fault, "Message": "the statement is not known (yet)"},
            "ResponseMetadata": {"HTTPStatusCode": 400},
        }
