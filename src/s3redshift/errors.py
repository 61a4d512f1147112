"""The one exception hierarchy of s3redshift.

Every error the library raises on purpose is an :class:`S3RedshiftError`, and
every one of them is either *retryable* (trying the same work again later may
succeed) or *permanent* (it will fail the same way until someone changes the
data, the configuration or the permissions). The Lambda adapter and the loader
decide what to retry from the branch alone, never from message text.

::

    S3RedshiftError
    ├── RetryableError
    │   ├── ConnectionLostError          network or session dropped mid-work
    │   │   └── DatabaseConnectionError  the database could not be reached, or dropped us
    │   ├── SerializationConflictError   Redshift 1023 / concurrent transaction
    │   ├── LockTimeoutError             a lock could not be had in time
    │   ├── ThrottledError               an AWS API said "slow down"
    │   ├── TimeBudgetExceededError      the caller's time ran out first
    │   ├── OutcomeUnknownError          a submitted batch may still run or have committed
    │   │   └── BatchAlreadyRunningError a transaction for this batch is in flight
    │   ├── BatchConflictError           a concurrent load recorded some objects first
    │   ├── KeyCollisionError            upsert objects share a key: merge one at a time
    │   └── LoadFailedError              objects of a direct invocation or sweep failed
    └── PermanentError
        ├── InvalidEventError            the notification payload is malformed
        ├── MappingError                 no safe table name for an object
        │   └── UnsafeIdentifierError    an identifier breaks Redshift's rules
        ├── CopyOptionsError             COPY options that cannot go together
        ├── ConfigError                  the configuration is wrong
        ├── CredentialsError             a secret or the AWS keys are missing or refused
        ├── DataRejectedError            COPY rejected rows (carries details)
        ├── TargetMissingError           the target table or schema is absent
        └── PermissionDeniedError        the database or AWS said no

Unknown errors raised by a transport (driver or AWS) are retryable; errors from
parsing, mapping, configuration and statement building are permanent.

``batch_may_still_run`` marks the errors after which a batch sent to Redshift
may still be running there or may have committed: the loader keeps that
batch's manifests and object list for them (its one rule about those files).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

__all__ = [
    "BatchAlreadyRunningError",
    "BatchConflictError",
    "ConfigError",
    "ConnectionLostError",
    "CopyOptionsError",
    "CredentialsError",
    "DataRejectedError",
    "DatabaseConnectionError",
    "FailedObject",
    "InvalidEventError",
    "KeyCollisionError",
    "LoadErrorDetail",
    "LoadFailedError",
    "LockTimeoutError",
    "MappingError",
    "OutcomeUnknownError",
    "PermanentError",
    "PermissionDeniedError",
    "RetryableError",
    "S3RedshiftError",
    "SchemaMismatchError",
    "SerializationConflictError",
    "TargetMissingError",
    "ThrottledError",
    "TimeBudgetExceededError",
    "UnsafeIdentifierError",
    "scrub_database_text",
]


class S3RedshiftError(Exception):
    """Base of every error s3redshift raises on purpose.

    ``s3_uri`` and ``table`` name the object and the target the error concerns,
    when there is one, so a report or a log line can say exactly what failed
    without parsing the message.
    """

    retryable: bool = False

    batch_may_still_run: bool = False
    """Whether a batch this error interrupted may still run (or have committed) in Redshift.

    True: a COPY of that batch may still read its manifests and object list, so
    they must stay (the manifest prefix's lifecycle rule expires them).
    """

    def __init__(
        self, message: str, *, s3_uri: str | None = None, table: str | None = None
    ) -> None:
        super().__init__(message)
        self.message = message
        self.s3_uri = s3_uri
        self.table = table

    def __str__(self) -> str:
        where = []
        if self.s3_uri:
            where.append(f"object {self.s3_uri}")
        if self.table:
            where.append(f"table {self.table}")
        if where:
            return f"{self.message} ({', '.join(where)})"
        return self.message

    @property
    def kind(self) -> str:
        """The class name, as written into reports and logs."""
        return type(self).__name__


class RetryableError(S3RedshiftError):
    """Trying the same work again later may succeed."""

    retryable = True


class PermanentError(S3RedshiftError):
    """The same work will fail again until something is changed."""

    retryable = False


# --- retryable -------------------------------------------------------------


class ConnectionLostError(RetryableError):
    """The connection to the database or to AWS dropped."""


class DatabaseConnectionError(ConnectionLostError):
    """The database could not be reached, or the connection to it dropped.

    Told apart from a lost connection to an AWS API (S3, say), so that a
    command can say where the database is and what to check
    (:mod:`s3redshift.unreachable`) instead of blaming the network at large.
    ``cause`` is what the network or the service said, without a secret
    (``Connection refused (ConnectionRefusedError)``); empty when only the
    message says it.
    """

    def __init__(
        self,
        message: str,
        *,
        cause: str = "",
        s3_uri: str | None = None,
        table: str | None = None,
    ) -> None:
        super().__init__(message, s3_uri=s3_uri, table=table)
        self.cause = cause


class SerializationConflictError(RetryableError):
    """Redshift aborted the transaction for a concurrent one (error 1023)."""


class LockTimeoutError(RetryableError):
    """A table lock could not be obtained in time."""


class ThrottledError(RetryableError):
    """An AWS API or the cluster asked the caller to slow down."""


class TimeBudgetExceededError(RetryableError):
    """The caller's time budget ran out before the work finished.

    The work may be a batch that keeps running in Redshift (the Data API does
    not stop a statement whose caller stopped waiting).
    """

    batch_may_still_run = True


class OutcomeUnknownError(RetryableError):
    """A batch was (or may have been) submitted, and whether it runs or committed is unknown.

    For example the Data API accepted it and then could not be asked about it
    (``DescribeStatement`` failed), or the answer to its submission was lost.
    Retrying is safe: the ledger, the batch's client token and its guard keep
    the objects exactly once, and the next attempt finds the batch if it still runs.
    """

    batch_may_still_run = True


class BatchAlreadyRunningError(OutcomeUnknownError):
    """The same batch is still running in Redshift from an earlier attempt."""


class BatchConflictError(RetryableError):
    """The ledger guard found objects of the batch already loaded.

    A concurrent load committed some of the same objects first; the
    transaction was rolled back, and the loader re-reads the ledger and loads
    what is left.
    """


class KeyCollisionError(RetryableError):
    """An upsert without ``order_by`` staged objects that share a key.

    Rows of one COPY cannot be told apart by object, so the loader plans the
    batch again with each object staged and merged alone, in load order.
    """


# --- permanent -------------------------------------------------------------


class InvalidEventError(PermanentError):
    """An event payload does not have the shape AWS documents.

    ``path`` is the JSON path of the offending field (for example
    ``Records[0].s3.object.key``) and ``message_id`` the SQS message it came
    in, so a partial batch response can fail exactly that message.
    """

    def __init__(
        self,
        message: str,
        *,
        path: str,
        message_id: str | None = None,
        s3_uri: str | None = None,
    ) -> None:
        self.path = path
        self.message_id = message_id
        located = f"{message} at {path}"
        if message_id:
            located += f" in SQS message {message_id}"
        super().__init__(located, s3_uri=s3_uri)


class MappingError(PermanentError):
    """No safe target table can be derived for an object."""


class UnsafeIdentifierError(MappingError):
    """A schema, table or column name breaks Redshift's identifier rules."""


class CopyOptionsError(PermanentError):
    """COPY options that Redshift does not accept together."""


class ConfigError(PermanentError):
    """The loader configuration is invalid or incomplete."""


class CredentialsError(PermanentError):
    """Credentials are missing, malformed or refused: the database's, or the loader's AWS keys."""


@dataclass(frozen=True)
class LoadErrorDetail:
    """One rejected row, as Redshift (or the stand-in) reports it."""

    file: str
    line: int | None
    column: str | None
    reason: str
    code: str | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "line": self.line,
            "column": self.column,
            "reason": self.reason,
            "code": self.code,
        }


class DataRejectedError(PermanentError):
    """COPY rejected the data of one or more files."""

    def __init__(
        self,
        message: str,
        *,
        details: Sequence[LoadErrorDetail] = (),
        s3_uri: str | None = None,
        table: str | None = None,
    ) -> None:
        super().__init__(message, s3_uri=s3_uri, table=table)
        self.details = tuple(details)

    @property
    def bad_files(self) -> frozenset[str]:
        """The S3 URIs the details name: the files to leave out on the next try."""
        return frozenset(d.file for d in self.details if d.file)


class TargetMissingError(PermanentError):
    """The target schema or table does not exist."""


class PermissionDeniedError(PermanentError):
    """The database or an AWS API refused the operation."""


class SchemaMismatchError(PermanentError):
    """A file's schema cannot be read, or does not fit its table under the rule's policy.

    The message names the column and both types (or what could not be read);
    the object is named by ``s3_uri``.
    """


class FailedObject(Protocol):
    """What :class:`LoadFailedError` carries per failed object.

    :class:`s3redshift.report.ObjectResult` is one. A protocol, so that this
    module, the root of every other, imports none of them (the report needs
    the errors, never the other way round).
    """

    @property
    def reason(self) -> str: ...

    @property
    def error(self) -> S3RedshiftError | None: ...

    def to_dict(self) -> dict[str, Any]: ...


class LoadFailedError(RetryableError):
    """Some objects of a Lambda invocation that cannot report them one by one failed.

    Raised by the handler for direct S3, SNS and EventBridge invocations and
    for the scheduled sweep, so that Lambda retries the invocation and finally
    dead-letters it. It is retryable because retrying the whole invocation is
    always safe (the ledger turns the objects that did load into duplicates)
    and is the only way the transient failures among them get loaded; whether
    each object can succeed on a retry is its own error's ``retryable``.

    ``failures`` are the failed objects' results, in load order; ``errors``
    are the distinct errors behind them plus any error not tied to one object
    (a sweep prefix that could not be listed).
    """

    def __init__(
        self,
        message: str,
        *,
        failures: Sequence[FailedObject] = (),
        errors: Sequence[S3RedshiftError] = (),
    ) -> None:
        super().__init__(message)
        self.failures = tuple(failures)
        self.errors = tuple(errors)


ERROR_TEXT_LIMIT = 1000
"""Characters of a database's error text kept in an error message."""

_SECRET_LITERAL = re.compile(
    r"\b(SECRET_ACCESS_KEY|SESSION_TOKEN|ACCESS_KEY_ID|CREDENTIALS|PASSWORD)(\s+(?:AS\s+)?)"
    r"'(?:[^']|'')*'",
    re.IGNORECASE,
)


_URL_PASSWORD = re.compile(r"(://[^:/@\s]*:)[^@\s]*@")


def mask_secrets(text: str) -> str:
    """``text`` with the secrets it may quote masked, lines and length kept (for tracebacks).

    The quoted values after a secret keyword (as :func:`scrub_database_text`
    masks them) and the password of a URL's user info (a connection string).
    """
    masked = _SECRET_LITERAL.sub(lambda m: f"{m.group(1)}{m.group(2)}'***'", text)
    return _URL_PASSWORD.sub(r"\1***@", masked)


def scrub_database_text(text: str) -> str:
    """A database's or an AWS API's error text, fit for messages, reports and logs.

    Servers may quote the failing statement, and a COPY with temporary keys
    holds secrets; quoted values after a secret keyword are masked, white
    space is folded and the text is cut to :data:`ERROR_TEXT_LIMIT`.
    """
    masked = _SECRET_LITERAL.sub(lambda m: f"{m.group(1)}{m.group(2)}'***'", text)
    masked = " ".join(masked.split())
    if len(masked) > ERROR_TEXT_LIMIT:
        masked = masked[:ERROR_TEXT_LIMIT] + " …"
    return masked
