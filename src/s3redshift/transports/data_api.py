"""Running plans through the Redshift Data API (boto3 ``redshift-data``).

No VPC, no driver and no password: every call is an HTTPS request signed with
the caller's IAM identity, and the database user comes from a Secrets Manager
secret, from ``GetClusterCredentials`` for a named user (done by the service),
or from the IAM identity itself.

**One plan, one batch.** A :class:`~s3redshift.transaction.TransactionPlan` is sent as
*one* ``BatchExecuteStatement``, whose statements Redshift runs serially as one
transaction: any failure rolls the whole batch back. The client sees nothing
between statements, which is why the plan's exactly-once guard is a statement
that fails the batch (see :mod:`s3redshift.ledger`) rather than client logic.
A batch holds at most :data:`MAX_STATEMENTS` statements and, as this module
counts it, :data:`MAX_SQL_BYTES` bytes of text; a larger plan is refused before
anything is sent. The plan keeps object lists in S3 files (manifest, object
list), so the batch's size does not grow with the number of objects -- except
for upsert without ``order_by`` once its objects shared a key, which then merges
object by object (seven statements per object); the loader splits such batches
by :attr:`DataApiTransport.max_statements`.

**Names and tokens.** Every batch is named ``s3redshift-<batch id>-<target>``
(:meth:`DataApiTransport.statement_name`; ``<target>`` is a short digest of
the cluster or workgroup and the database, so the same objects loaded into two
warehouses by one IAM role are two batches). The ``ClientToken`` is
``<batch id>-<n>-<digest>`` (:meth:`DataApiTransport.client_token`), where
``<n>`` counts this batch's earlier attempts that ended ``FAILED`` or
``ABORTED`` and ``<digest>`` covers the target and the exact statement text:

- the same request sent again while its fate is unknown (an answer lost to a
  dropped connection) carries the same token, and the service answers with
  the statement it already has instead of running the batch twice, for the
  8 hours a token is remembered -- this holds even with the ledger disabled,
  whose plans are the same text every time;
- a retry after a failed attempt carries a new ``<n>``: without it the service
  would answer a retry of, say, a serialization conflict with the old failed
  statement for 8 hours;
- a retry with different text (the ledger row's timestamp differs per plan)
  carries a new digest, so a token is never reused with other parameters,
  which the API might refuse.

``<n>`` is read from ``ListStatements`` (all statements of the caller's IAM
role) and never lower than what this transport saw fail itself, so it holds
across Lambda containers. The digest is a truncated SHA-256: it reveals
nothing of the statements, temporary keys included.

**A batch still running from an earlier attempt.** The Data API keeps running
a statement when its caller goes away, so a Lambda that timed out or died
leaves its batch running in Redshift. Before submitting, :meth:`run` lists the
statements of the same name: if one is still ``SUBMITTED``/``PICKED``/
``STARTED``, it waits for it (within the time budget) instead of starting a
second transaction for the same objects. If it then ``FINISHED``, the objects
are loaded: ``run`` returns that batch's rows without running anything. If it
failed, this attempt runs the batch itself. If the budget runs out first,
:class:`~s3redshift.errors.BatchAlreadyRunningError` (retryable) says so; the
next attempt looks again. Correctness never depends on this look-up: a second
batch would wait on the first one's ``LOCK`` and its guard would then abort it
(:class:`~s3redshift.errors.BatchConflictError`), and the loader would report
the objects as duplicates. The look-up saves that wait, and a statement slot.

**A batch of unknown fate.** Once a batch may have been accepted -- its
``BatchExecuteStatement`` answered, or its answer was lost (no answer, or a
5xx one) -- a failure to learn its fate (``DescribeStatement`` refused with
``ResourceNotFoundException`` right after submission, a dropped connection)
raises :class:`~s3redshift.errors.OutcomeUnknownError` (retryable), never the
bare translated error: the batch may still be running, so the loader keeps
its files, and the next attempt reads the ledger and looks for the batch again.

**Waiting for a statement.** Where the client's botocore has the Data API's
long poll (``WaitTimeSeconds`` on ``ExecuteStatement``,
``BatchExecuteStatement`` and ``DescribeStatement``; feature-detected from the
client's own service model, since a Lambda's runtime boto3 may predate it),
each call waits up to :data:`LONG_POLL_MAX` seconds for the statement to end
and returns the moment it does: a read is usually answered by its submission
alone, and a 60 s COPY costs its submission and one ``DescribeStatement``
call (each long poll waits up to 30 s). Without it, ``DescribeStatement`` is polled after
:data:`POLL_FIRST` s, growing by :data:`POLL_FACTOR` to at most
:data:`POLL_MAX` s (docs/performance.md has what either costs). A long poll
that answers "still running" before half its wait is over (a throttled
service, a test double) is followed by a pause of that cadence, so the loop
never spins. Each statement is waited for by the thread that submitted it:
up to :attr:`DataApiTransport.max_in_flight` calls run at once, one active
statement each, well below the Data API's 200 active statements per cluster;
past that the service answers ``ActiveStatementsExceededException``,
retryable, and the loader tries again after a pause.

**Time budget.** Polling stops at the earlier of ``time_budget`` seconds after
a call started and :attr:`DataApiTransport.deadline` (a ``clock()`` reading the
loader may set). Running out raises
:class:`~s3redshift.errors.TimeBudgetExceededError`; the statement is *not*
cancelled, since it may be about to commit -- it keeps running in Redshift and
the next attempt finds it as above.

**Errors** are translated in one place, :meth:`DataApiTransport._translate`,
from :func:`s3redshift.aws_errors.aws_error` (API and botocore exceptions) and
:data:`FAILURE_PATTERNS` (the cluster's error text of a ``FAILED`` statement).
A rejected data COPY's rows are read back from ``SYS_LOAD_ERROR_DETAIL`` (and
``STL_LOAD_ERRORS`` on provisioned clusters) by the sub-statement's
``RedshiftQueryId``. No SQL text ever appears in an error: statements may hold
temporary keys, and the cluster's error text is scrubbed of quoted secrets too.
"""

from __future__ import annotations

import hashlib
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final, Self

from s3redshift.aws_errors import AwsCall, aws_error
from s3redshift.config import MAX_IN_FLIGHT, DataApiTarget
from s3redshift.errors import (
    BatchAlreadyRunningError,
    BatchConflictError,
    ConfigError,
    CredentialsError,
    DataRejectedError,
    LoadErrorDetail,
    OutcomeUnknownError,
    PermanentError,
    PermissionDeniedError,
    RetryableError,
    S3RedshiftError,
    SerializationConflictError,
    TargetMissingError,
    ThrottledError,
    TimeBudgetExceededError,
    scrub_database_text,
)
from s3redshift.identifiers import quote_literal
from s3redshift.ledger import GUARD_MARKER, guard_fired
from s3redshift.load_error_logs import load_errors_sql
from s3redshift.transaction import (
    GUARD_ERRORS,
    GUARD_PURPOSE,
    CopyStep,
    Limits,
    SqlStep,
    TransactionPlan,
)

if TYPE_CHECKING:
    from mypy_boto3_redshift_data import RedshiftDataAPIServiceClient

    from s3redshift.config import CredentialsConfig, LoaderConfig

__all__ = [
    "DATA_API_LIMITS",
    "FAILURE_PATTERNS",
    "MAX_SQL_BYTES",
    "MAX_STATEMENTS",
    "DataApiTransport",
]

MAX_STATEMENTS: Final = 40
"""Statements one ``BatchExecuteStatement`` accepts (the API's limit)."""

MAX_SQL_BYTES: Final = 100_000
"""Bytes of statement text one batch may carry, all statements together.

AWS documents "100 KB" for the statement text; the smaller reading (10^5 UTF-8
bytes, not 100 KiB) is used so a batch that passes here is never refused there.
"""

DATA_API_LIMITS: Final = Limits(statements=MAX_STATEMENTS, sql_bytes=MAX_SQL_BYTES)
"""What one ``BatchExecuteStatement`` takes: the loader splits batches to fit."""

POLL_FIRST: Final = 0.25
POLL_FACTOR: Final = 1.5
POLL_MAX: Final = 2.0
"""``DescribeStatement`` cadence without long polls: first pause, growth factor, longest (s)."""

LONG_POLL_MAX: Final = 30
"""The longest ``WaitTimeSeconds`` the Data API takes (it takes 1 to 30)."""

_LONG_POLLED: Final = ("ExecuteStatement", "BatchExecuteStatement", "DescribeStatement")

RUNNING: Final = frozenset({"SUBMITTED", "PICKED", "STARTED"})
FAILED_STATES: Final = frozenset({"FAILED", "ABORTED"})
TERMINAL: Final = frozenset({"FINISHED"}) | FAILED_STATES


LOAD_ERROR_LIMIT: Final = 100
"""Rows of load-error detail read back after a rejected COPY."""

FAILURE_PATTERNS: tuple[tuple[re.Pattern[str], type[S3RedshiftError]], ...] = (
    (re.compile(re.escape(GUARD_MARKER)), BatchConflictError),
    (
        re.compile(
            r"\bERROR:\s*1023\b|\b1023\s+DETAIL\b|serializable isolation violation"
            r"|conflict with concurrent transaction",
            re.IGNORECASE,
        ),
        SerializationConflictError,
    ),
    # 1018: a relation created by a concurrent transaction after this one's snapshot
    (re.compile(r"\bERROR:\s*1018\b|\b1018\s+DETAIL\b", re.I), SerializationConflictError),
    (
        re.compile(
            r"check '(?:stl_load_errors|sys_load_error_detail)'|load into table '[^']*' failed",
            re.IGNORECASE,
        ),
        DataRejectedError,
    ),
    (
        re.compile(
            r"value too long for type|numeric data overflow|overflow for type"
            r"|out of range for type|invalid input syntax for|invalid digit, value"
            r"|invalid (?:date|timestamp) format|violates not-null constraint",
            re.IGNORECASE,
        ),
        DataRejectedError,
    ),
    # a missing column names its relation too: it must match before the table
    (
        re.compile(r'\bcolumn\s+"[^"]*"\s+(?:of relation\s+"[^"]*"\s+)?does not exist', re.I),
        PermanentError,
    ),
    (
        re.compile(
            r'\b(?:relation|schema|table)\s+"[^"]*"\s+does not exist'
            r"|cannot copy into nonexistent table",
            re.IGNORECASE,
        ),
        TargetMissingError,
    ),
    (
        re.compile(
            r"permission denied|must be owner of|not authorized to"
            r"|S3ServiceException:\s*Access Denied|Status 403",
            re.IGNORECASE,
        ),
        PermissionDeniedError,
    ),
    (
        re.compile(r"password authentication failed|authentication failed for user", re.I),
        CredentialsError,
    ),
    (re.compile(r"syntax error at or near", re.IGNORECASE), PermanentError),
)
"""The cluster's error text of a ``FAILED`` statement → error class, first match wins.

Anything unmatched is retryable (the project's rule for transport errors);
``ABORTED`` statements are retryable too.
"""


_CLUSTER_ID = re.compile(r"[a-z][a-z0-9]*(-[a-z0-9]+)*")
_WORKGROUP = re.compile(r"[a-z0-9-]{3,63}|arn:aws[a-z-]*:redshift-serverless:[^\s]+:workgroup/\S+")
_SECRET_ARN = re.compile(r"arn:aws[a-z-]*:secretsmanager:[^:\s]+:\d{12}:secret:\S+")


def _digest(*parts: str) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode("utf-8", errors="surrogatepass") + b"\x00")
    return digest.hexdigest()


def _long_polled(client: Any) -> frozenset[str]:
    """The operations whose ``WaitTimeSeconds`` this client's botocore knows (none if unsure)."""
    try:
        model = client.meta.service_model
        shapes = {name: model.operation_model(name).input_shape for name in _LONG_POLLED}
        return frozenset(
            name for name, shape in shapes.items() if shape and "WaitTimeSeconds" in shape.members
        )
    except Exception:  # not a botocore client, or one that knows none of these operations
        return frozenset()


def _field_value(field: Mapping[str, Any]) -> Any:
    """One ``GetStatementResult`` field as a Python value."""
    if field.get("isNull"):
        return None
    for name in ("stringValue", "longValue", "doubleValue", "booleanValue", "blobValue"):
        if name in field:
            return field[name]
    return None


def _sub_index(sub: Mapping[str, Any], position: int) -> int:
    """The 0-based plan step of a sub-statement (its id ends in ``:<n>``, 1-based)."""
    _, colon, number = str(sub.get("Id", "")).rpartition(":")
    if colon and number.isdigit():
        return int(number) - 1
    return position


@dataclass(frozen=True)
class _Failure:
    """A ``FAILED`` or ``ABORTED`` statement, as far as it concerns the plan."""

    status: str
    text: str
    step: int | None = None
    query_id: int | None = None


@dataclass(frozen=True)
class _Earlier:
    """A statement of the same name found by ``ListStatements``."""

    statement_id: str
    status: str


class DataApiTransport:
    """Runs each plan as one Data API batch; reads with single statements.

    Give ``cluster_identifier`` (provisioned) or ``workgroup`` (Serverless),
    and ``database``. Sign-in: ``secret_arn`` (a Secrets Manager secret with
    ``username`` and ``password``), or ``db_user`` (provisioned only: the
    service calls ``GetClusterCredentials`` for that user), or neither (the
    caller's IAM identity becomes the database user).

    ``client`` is a boto3 ``redshift-data`` client, created on first use in
    ``region`` when not given. ``time_budget`` (seconds) bounds the wait of
    each call; :attr:`deadline` bounds all of them. ``clock`` and ``sleep`` are
    injectable so polling is testable without waiting. Up to ``max_in_flight``
    calls may run at once from different threads (boto3 clients are
    thread-safe; one created here has a connection for each). The settings
    are taken as :class:`~s3redshift.config.LoaderConfig` validated them
    (:meth:`from_config`).

    Raises (at construction):
        ConfigError: a time budget that is not positive.
    """

    max_statements: int = MAX_STATEMENTS
    """Statements one plan may have on this transport (the loader splits above it)."""

    max_sql_bytes: int = MAX_SQL_BYTES
    """Bytes of SQL text one plan may have on this transport."""

    @property
    def limits(self) -> Limits:
        """:attr:`max_statements` and :attr:`max_sql_bytes`, as the loader splits by them."""
        return Limits(statements=self.max_statements, sql_bytes=self.max_sql_bytes)

    def __init__(
        self,
        *,
        database: str,
        cluster_identifier: str | None = None,
        workgroup: str | None = None,
        secret_arn: str | None = None,
        db_user: str | None = None,
        client: RedshiftDataAPIServiceClient | None = None,
        region: str | None = None,
        time_budget: float | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        name: str = "data-api",
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        if time_budget is not None and time_budget <= 0:
            raise ConfigError(f"time_budget must be positive seconds, not {time_budget!r}")
        self.name = name
        self.max_in_flight = max_in_flight
        self.database = database
        self.cluster_identifier = cluster_identifier
        self.workgroup = workgroup
        self.secret_arn = secret_arn
        self.db_user = db_user
        self.time_budget = time_budget
        self.deadline: float | None = None
        """A ``clock()`` reading after which no call waits any longer (None: no limit)."""
        self._client = client
        self._owns_client = client is None
        self._region = region
        self._clock = clock
        self._sleep = sleep
        self._failures: dict[str, int] = {}
        self._long_polls: frozenset[str] | None = None

    @classmethod
    def from_config(
        cls, config: LoaderConfig, *, client: RedshiftDataAPIServiceClient | None = None
    ) -> Self:
        """The transport for a ``[target]`` with ``transport = "data-api"``.

        ``credentials.provider`` ``secrets-manager`` signs in with the secret,
        ``iam`` with ``credentials.user`` as a named database user (provisioned)
        or, without a user, as the IAM identity.

        Raises:
            ConfigError: a target or credentials the Data API cannot use.
        """
        target, credentials = config.target, config.credentials
        assert isinstance(target, DataApiTarget)  # open_transport dispatches on the type
        _check_target(target)
        _refuse_sign_in(target, credentials)
        by_secret = credentials.provider == "secrets-manager"
        return cls(
            database=target.database,
            cluster_identifier=target.cluster_identifier,
            workgroup=target.workgroup,
            secret_arn=credentials.secret_arn if by_secret else None,
            db_user=credentials.user if credentials.provider == "iam" else None,
            client=client,
            max_in_flight=target.max_in_flight,
        )

    # --- identity ----------------------------------------------------------

    @property
    def auth(self) -> str:
        """How the database user is chosen: ``secret``, ``db-user`` or ``iam``."""
        if self.secret_arn is not None:
            return "secret"
        return "db-user" if self.db_user is not None else "iam"

    @property
    def target_key(self) -> str:
        """The warehouse and database this transport talks to, as one string."""
        if self.cluster_identifier:
            return f"cluster:{self.cluster_identifier}/{self.database}"
        return f"workgroup:{self.workgroup}/{self.database}"

    def statement_name(self, batch_id: str) -> str:
        """``StatementName`` of a plan's batch (see the module docstring)."""
        return f"s3redshift-{batch_id}-{_digest(self.target_key)[:8]}"

    def client_token(self, batch_id: str, sqls: Sequence[str], failed_before: int) -> str:
        """``ClientToken`` of a plan's batch (see the module docstring); ≤ 64 characters."""
        return f"{batch_id}-{failed_before}-{_digest(self.target_key, *sqls)[:16]}"

    def prepare(self) -> None:
        """Create the ``redshift-data`` client now (no AWS call)."""
        _ = self.client

    @property
    def client(self) -> RedshiftDataAPIServiceClient:
        """The boto3 ``redshift-data`` client, created on first use."""
        if self._client is None:
            import boto3
            from botocore.config import Config

            # A connection for each call in flight (botocore's 60 s read
            # time-out outlasts the longest poll).
            pool = Config(max_pool_connections=max(10, self.max_in_flight + 2))
            self._client = boto3.client("redshift-data", region_name=self._region, config=pool)
        return self._client

    def _wait_time(self, operation: str, deadline: float | None) -> dict[str, int]:
        """``WaitTimeSeconds`` for a call of ``operation``: up to the deadline, if it long-polls."""
        if self._long_polls is None:
            self._long_polls = _long_polled(self.client)
        if operation not in self._long_polls:
            return {}
        # Half of what is left: botocore may send a call again after a
        # throttled or failed answer, and the second wait must end in time too.
        left = LONG_POLL_MAX if deadline is None else math.floor((deadline - self._clock()) / 2)
        seconds = min(LONG_POLL_MAX, left)
        return {"WaitTimeSeconds": seconds} if seconds >= 1 else {}

    def _target_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"Database": self.database}
        if self.cluster_identifier:
            params["ClusterIdentifier"] = self.cluster_identifier
        else:
            params["WorkgroupName"] = self.workgroup
        if self.secret_arn is not None:
            params["SecretArn"] = self.secret_arn
        if self.db_user is not None:
            params["DbUser"] = self.db_user
        return params

    # --- the Transport protocol ----------------------------------------------

    def run(self, plan: TransactionPlan, *, time_budget: float | None = None) -> int:
        """Run ``plan`` as one batch; return the rows its data COPYs loaded.

        ``time_budget`` (seconds from now) tightens the polling deadline for
        this call only.

        Raises:
            PermanentError: the plan exceeds the batch limits, or Redshift or the
                API refused it for good (a subclass says why).
            RetryableError: a conflict, throttling, an aborted or still running
                batch, or the time budget ran out (a subclass says which).
        """
        table = str(plan.target)
        sqls = plan.statements(redact=False)
        self._check_limits(sqls, plan)
        deadline = self._call_deadline(time_budget)
        name = self.statement_name(plan.batch_id)
        earlier = self._earlier(name, table=table)
        failed_before = sum(1 for e in earlier if e.status in FAILED_STATES)
        for running in (e for e in earlier if e.status in RUNNING):
            try:
                description = self._poll(
                    running.statement_id, deadline, table=table, batch=plan.batch_id
                )
            except TimeBudgetExceededError as exc:
                raise BatchAlreadyRunningError(
                    f"an earlier attempt of batch {plan.batch_id} (Data API statement "
                    f"{running.statement_id}) is still running in Redshift and did not end "
                    "within the time budget; the next attempt waits for it again",
                    table=table,
                ) from exc
            if description.get("Status") == "FINISHED":
                rows = self._rows_of_same_plan(plan, description)
                if rows is not None:
                    return rows
            else:
                failed_before += 1
        failed_before = max(failed_before, self._failures.get(name, 0))
        statement_id = self._submit_batch(plan, sqls, name, failed_before, deadline)
        description = self._poll(statement_id, deadline, table=table, batch=plan.batch_id)
        if description.get("Status") == "FINISHED":
            return self._data_rows(plan, self._sub_statements(description))
        self._failures[name] = failed_before + 1
        raise self._translate(self._failure_of(description), plan=plan)

    def query(self, sql: str, *, time_budget: float | None = None) -> list[tuple[Any, ...]]:
        """Run one read and return its rows (every page of the result).

        Raises:
            S3RedshiftError: translated as for :meth:`run`.
        """
        deadline = self._call_deadline(time_budget)
        description = self._run_statements((sql,), deadline)
        if not description.get("HasResultSet", True):
            return []
        statement_id = str(description["Id"])
        rows: list[tuple[Any, ...]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"Id": statement_id}
            if token:
                params["NextToken"] = token
            try:
                page = self.client.get_statement_result(**params)
            except Exception as exc:
                raise self._translate(exc, action="GetStatementResult") from exc
            rows.extend(tuple(_field_value(f) for f in record) for record in page["Records"])
            token = page.get("NextToken")
            if not token:
                return rows

    def execute(
        self, *sqls: str, time_budget: float | None = None, autocommit: bool = False
    ) -> None:
        """Run ``sqls`` in one transaction of their own (idempotent DDL): one request.

        Several statements go as one ``BatchExecuteStatement``, within the
        batch limits. ``autocommit``: one ``ExecuteStatement`` each, which
        Redshift runs outside any transaction block.

        Raises:
            PermanentError: more statements or text than one batch takes.
            S3RedshiftError: translated as for :meth:`run`.
        """
        self._check_limits(sqls)
        deadline = self._call_deadline(time_budget)
        for batch in [(sql,) for sql in sqls] if autocommit else [sqls]:
            self._run_statements(batch, deadline)

    def _run_statements(self, sqls: Sequence[str], deadline: float | None) -> Mapping[str, Any]:
        """Submit ``sqls`` (one statement, or one batch) and wait for them to finish.

        A single statement whose submission's long poll saw it finish needs
        no ``DescribeStatement``: its answer says whether it has rows.
        """
        answer = self._submit(sqls, deadline)
        if answer.get("Status") == "FINISHED" and len(sqls) == 1:
            return answer
        description = self._poll(str(answer["Id"]), deadline)
        if description.get("Status") != "FINISHED":
            raise self._translate(self._failure_of(description))
        return description

    def close(self) -> None:
        """Close a client this transport created (an injected one is the caller's)."""
        if self._owns_client and self._client is not None:
            self._client.close()
            self._client = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- steps ------------------------------------------------------------------

    def _check_limits(self, sqls: Sequence[str], plan: TransactionPlan | None = None) -> None:
        """Refuse, before anything is sent, statements one batch cannot take."""
        table = None if plan is None else str(plan.target)
        what = "the statements" if plan is None else "the plan"
        fix = "run fewer at once" if plan is None else "load fewer objects per transaction"
        if len(sqls) > self.max_statements:
            hint = (
                " (upsert without order_by merges objects that share keys one at a time, "
                "7 statements each: set the rule's order_by to stage all objects at once)"
                if plan is not None and plan.mode == "upsert"
                else ""
            )
            raise PermanentError(
                f"{what} are {len(sqls)} statements, and a Data API batch takes at most "
                f"{self.max_statements} (BatchExecuteStatement's limit); {fix}{hint}",
                table=table,
            )
        size = sum(len(sql.encode("utf-8", errors="surrogatepass")) for sql in sqls)
        if size > self.max_sql_bytes:
            raise PermanentError(
                f"{what} are {size} bytes of SQL, and a Data API batch takes at most "
                f"{self.max_sql_bytes} bytes of statement text (100 KB); {fix}",
                table=table,
            )

    def _call_deadline(self, time_budget: float | None) -> float | None:
        """:meth:`_deadline`, tightened by one call's own budget (seconds from now)."""
        deadline = self._deadline()
        if time_budget is None:
            return deadline
        own = self._clock() + time_budget
        return own if deadline is None else min(deadline, own)

    def _deadline(self) -> float | None:
        """The earlier of :attr:`deadline` and ``time_budget`` from now (None: unbounded)."""
        if self.time_budget is None:
            return self.deadline
        own = self._clock() + self.time_budget
        return own if self.deadline is None else min(own, self.deadline)

    def _earlier(self, name: str, *, table: str) -> list[_Earlier]:
        """Statements of this name (the caller's IAM role, the last 24 hours)."""
        found: list[_Earlier] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {
                "StatementName": name,
                "Status": "ALL",
                "RoleLevel": True,
                "MaxResults": 100,
            }
            if token:
                params["NextToken"] = token
            try:
                page = self.client.list_statements(**params)
            except Exception as exc:
                raise self._translate(exc, action="ListStatements", table=table) from exc
            for statement in page["Statements"]:
                # StatementName filters by prefix; only this exact batch counts.
                if statement.get("StatementName") == name:
                    found.append(_Earlier(statement["Id"], str(statement.get("Status", ""))))
            token = page.get("NextToken")
            if not token:
                return found

    def _submit_batch(
        self,
        plan: TransactionPlan,
        sqls: Sequence[str],
        name: str,
        failed_before: int,
        deadline: float | None,
    ) -> str:
        params = self._target_params() | {
            "Sqls": list(sqls),
            "StatementName": name,
            "ClientToken": self.client_token(plan.batch_id, sqls, failed_before),
            "WithEvent": False,
        }
        try:
            params |= self._wait_time("BatchExecuteStatement", deadline)
            response = self.client.batch_execute_statement(**params)
        except Exception as exc:
            error = self._translate(exc, action="BatchExecuteStatement", table=str(plan.target))
            if _answer_lost(exc, error):
                raise OutcomeUnknownError(
                    f"batch {plan.batch_id} may have been accepted: {error.message}; if "
                    "Redshift runs it, the next attempt finds it by its name",
                    table=error.table,
                ) from exc
            raise error from exc
        return str(response["Id"])

    def _submit(self, sqls: Sequence[str], deadline: float | None) -> Mapping[str, Any]:
        """One statement as ``ExecuteStatement``, several as one ``BatchExecuteStatement``."""
        single = len(sqls) == 1
        operation = "ExecuteStatement" if single else "BatchExecuteStatement"
        params = self._target_params() | {"WithEvent": False}
        params |= {"Sql": sqls[0]} if single else {"Sqls": list(sqls)}
        try:
            params |= self._wait_time(operation, deadline)
            submit = (
                self.client.execute_statement if single else self.client.batch_execute_statement
            )
            response: Mapping[str, Any] = submit(**params)
        except Exception as exc:
            raise self._translate(exc, action=operation) from exc
        return response

    def _poll(
        self,
        statement_id: str,
        deadline: float | None,
        *,
        table: str | None = None,
        batch: str | None = None,
    ) -> Mapping[str, Any]:
        """``DescribeStatement`` until the statement ends or time runs out.

        Long polls follow each other at once while they wait in full;
        otherwise (no long poll, an early answer, a refused look) the loop
        pauses by the cadence. Throttled polls count as "still running": the
        statement's fate does not change because a look at it was refused. Any
        other failed look at a ``batch`` raises :class:`OutcomeUnknownError`:
        the batch was submitted and may still commit.
        """
        pause = POLL_FIRST
        while True:
            asked = self._clock()
            wait: dict[str, int] = {}
            waited = False
            try:
                wait = self._wait_time("DescribeStatement", deadline)
                description: Mapping[str, Any] = self.client.describe_statement(
                    Id=statement_id, **wait
                )
            except Exception as exc:
                error = self._translate(exc, action="DescribeStatement", table=table)
                if batch is not None and not isinstance(error, ThrottledError):
                    raise OutcomeUnknownError(
                        f"batch {batch} was submitted (Data API statement {statement_id}) and "
                        f"then could not be looked at: {error.message}; it may still be "
                        "running in Redshift or have committed, and the next attempt looks again",
                        table=table,
                    ) from exc
                if not isinstance(error, ThrottledError):
                    raise error from exc
            else:
                if description.get("Status") in TERMINAL:
                    return description
                waited = bool(wait) and self._clock() - asked >= wait["WaitTimeSeconds"] / 2
            now = self._clock()
            if deadline is not None and now >= deadline:
                what = f"batch {batch}" if batch else "the statement"
                then = "; the next attempt of the batch waits for it" if batch else ""
                raise TimeBudgetExceededError(
                    f"the time budget ran out while Redshift was running {what} (Data API "
                    f"statement {statement_id}); it keeps running there{then}",
                    table=table,
                )
            if waited:
                continue
            self._sleep(pause if deadline is None else min(pause, deadline - now))
            pause = min(pause * POLL_FACTOR, POLL_MAX)

    @staticmethod
    def _sub_statements(description: Mapping[str, Any]) -> list[Mapping[str, Any]]:
        subs = list(enumerate(description.get("SubStatements") or ()))
        return [sub for _, sub in sorted(subs, key=lambda p: _sub_index(p[1], p[0]))]

    @staticmethod
    def _data_steps(plan: TransactionPlan) -> list[int]:
        return [
            i
            for i, step in enumerate(plan.steps)
            if isinstance(step, CopyStep) and step.purpose == "data"
        ]

    def _data_rows(self, plan: TransactionPlan, subs: Sequence[Mapping[str, Any]]) -> int:
        """Rows loaded: ``ResultRows`` of the sub-statements that are data COPYs."""
        data = set(self._data_steps(plan))
        return sum(
            max(int(sub.get("ResultRows", 0) or 0), 0)
            for position, sub in enumerate(subs)
            if _sub_index(sub, position) in data
        )

    def _rows_of_same_plan(
        self, plan: TransactionPlan, description: Mapping[str, Any]
    ) -> int | None:
        """Rows of an earlier attempt's finished batch, if it had this plan's shape.

        Same name means same objects, table and warehouse; the statement count
        also matching means the data COPYs sit where this plan has them. A
        different shape (the configuration changed in between) returns None,
        and the batch is run again: its guard then decides.
        """
        subs = self._sub_statements(description)
        if len(subs) != len(plan.steps):
            return None
        return self._data_rows(plan, subs)

    def _failure_of(self, description: Mapping[str, Any]) -> _Failure:
        status = str(description.get("Status", ""))
        subs = self._sub_statements(description)
        for position, sub in enumerate(subs):
            if sub.get("Status") == "FAILED":
                query_id = sub.get("RedshiftQueryId")
                return _Failure(
                    status=status,
                    text=str(sub.get("Error") or description.get("Error") or ""),
                    step=_sub_index(sub, position),
                    query_id=int(query_id) if isinstance(query_id, int) and query_id > 0 else None,
                )
        return _Failure(status=status, text=str(description.get("Error") or ""))

    # --- errors: the one place ------------------------------------------------

    def _translate(
        self,
        error: BaseException | _Failure,
        *,
        plan: TransactionPlan | None = None,
        action: str = "",
        table: str | None = None,
    ) -> S3RedshiftError:
        """The project error for an API exception or a failed statement.

        API exceptions go by :func:`~s3redshift.aws_errors.aws_error`; a
        failed statement's text by :data:`FAILURE_PATTERNS`, knowing which plan
        step failed (the guard, a data COPY). Unknown errors are retryable.
        """
        if plan is not None:
            table = str(plan.target)
        if isinstance(error, S3RedshiftError):
            return error
        if isinstance(error, _Failure):
            return self._translate_failure(error, plan, table)
        return _translate_exception(error, action, table)

    def _translate_failure(
        self, failure: _Failure, plan: TransactionPlan | None, table: str | None
    ) -> S3RedshiftError:
        step: SqlStep | CopyStep | None = None
        where = "the statement"
        if plan is not None and failure.step is not None and 0 <= failure.step < len(plan.steps):
            step = plan.steps[failure.step]
            where = (
                f"statement {failure.step + 1} of {len(plan.steps)} ({step.purpose}) "
                f"of batch {plan.batch_id}"
            )
        s3_uri = step.objects[0] if isinstance(step, CopyStep) and len(step.objects) == 1 else None
        if failure.status == "ABORTED":
            return RetryableError(
                f"{where} was cancelled (ABORTED) before it finished; nothing was committed",
                table=table,
                s3_uri=s3_uri,
            )
        text = scrub_database_text(failure.text)
        message = f"Redshift failed {where}: {text}"
        cls: type[S3RedshiftError] = RetryableError
        for pattern, candidate in FAILURE_PATTERNS:
            if pattern.search(failure.text):
                cls = candidate
                break
        guard = GUARD_ERRORS.get(step.purpose) if isinstance(step, SqlStep) else None
        if (
            guard is not None
            and cls is not SerializationConflictError
            and guard_fired(failure.text, at_guard=True)
        ):
            guard_error, why = guard
            return guard_error(f"{why}; the batch was rolled back", table=table)
        if cls is BatchConflictError:  # the ledger guard's marker, echoed by another step
            guard_error, why = GUARD_ERRORS[GUARD_PURPOSE]
            return guard_error(f"{why}; the batch was rolled back", table=table)
        if cls is DataRejectedError:
            details: tuple[LoadErrorDetail, ...] = ()
            if isinstance(step, CopyStep) and failure.query_id is not None:
                details = self._load_errors(failure.query_id)
            return DataRejectedError(message, details=details, table=table, s3_uri=s3_uri)
        return cls(message, table=table, s3_uri=s3_uri)

    def _load_errors(self, query_id: int) -> tuple[LoadErrorDetail, ...]:
        """The rejected rows of one COPY, best effort (an empty tuple if unreadable).

        ``SYS_LOAD_ERROR_DETAIL`` exists on Serverless and provisioned
        clusters; ``STL_LOAD_ERRORS`` (provisioned only) is asked when the
        first has no rows, since its ``query`` is what ``RedshiftQueryId``
        documents itself as. Both are read outside the failed transaction,
        which system tables do not take part in.
        """
        qid = f"CAST({quote_literal(str(int(query_id)))} AS BIGINT)"
        sources = [
            load_errors_sql(log, qid, limit=LOAD_ERROR_LIMIT, by_file=True)
            for log in ("sys", "stl")
        ]
        for sql in sources:
            try:
                rows = self.query(sql)
            except TimeBudgetExceededError:
                break  # no time left for a second look either
            except S3RedshiftError:
                continue  # STL_LOAD_ERRORS does not exist on Serverless, for one
            if rows:
                return tuple(_load_error_detail(row) for row in rows)
        return ()


def _text(value: Any) -> str | None:
    if value is None:
        return None
    stripped = str(value).strip()
    return stripped or None


def _load_error_detail(row: Sequence[Any]) -> LoadErrorDetail:
    """A row of the load-error tables; their CHAR columns come padded with blanks."""
    file, line, column, reason, code = (tuple(row) + (None,) * 5)[:5]
    return LoadErrorDetail(
        file=_text(file) or "",
        line=int(line) if line is not None and str(line).strip().lstrip("-").isdigit() else None,
        column=_text(column),
        reason=_text(reason) or "rejected by COPY",
        code=_text(code),
    )


def _answer_lost(exc: BaseException, error: S3RedshiftError) -> bool:
    """Whether a failed submission may still have been accepted by the service.

    Only an answer that refuses the request (an error below HTTP 500) says it
    was not; no answer at all (a dropped connection, a read time-out; errors
    raised before sending translate as permanent) or a 5xx answer says nothing.
    """
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping) and "Error" in response:
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return isinstance(status, int) and status >= 500
    return error.retryable


def _translate_exception(exc: BaseException, action: str, table: str | None) -> S3RedshiftError:
    """An exception from boto3/botocore as a project error, by the one AWS mapping."""
    call = AwsCall(
        "redshift-data",
        f"the Data API's {action}" if action else "the Data API",
        permission=f"redshift-data:{action or '*'}",
        fix=(
            "check target.cluster_identifier / target.workgroup, target.database "
            "and the credentials"
        ),
        table=table,
    )
    return aws_error(exc, call)


def _check_target(target: DataApiTarget) -> None:
    """Refuse names the Data API would refuse, before any call."""
    cluster, workgroup = target.cluster_identifier, target.workgroup
    if cluster and _CLUSTER_ID.fullmatch(cluster) is None:
        raise ConfigError(
            f"target.cluster_identifier {cluster!r} is not a cluster identifier: lowercase "
            "letters, digits and single hyphens, starting with a letter"
        )
    if workgroup and _WORKGROUP.fullmatch(workgroup) is None:
        raise ConfigError(
            f"target.workgroup {workgroup!r} is not a workgroup name (3-63 lowercase letters, "
            "digits or hyphens) or workgroup ARN"
        )
    if not target.database:
        raise ConfigError("the Data API needs target.database")


def _refuse_sign_in(target: DataApiTarget, credentials: CredentialsConfig) -> None:
    """Refuse credentials the Data API cannot sign in with.

    It takes no password; a secret is named by its ARN; a named database
    user exists on a provisioned cluster only.
    """
    if credentials.provider in ("ssm", "static"):
        raise ConfigError(
            f"credentials.provider = {credentials.provider!r} gives a password, which the "
            "Data API cannot use; use provider 'secrets-manager' (credentials.secret_arn) "
            "or 'iam' (the IAM identity, or credentials.user on a provisioned cluster)"
        )
    arn = credentials.secret_arn
    if credentials.provider == "secrets-manager" and not _SECRET_ARN.fullmatch(arn or ""):
        raise ConfigError(
            "credentials.secret_arn must be a Secrets Manager secret ARN "
            "(arn:aws:secretsmanager:<region>:<account>:secret:<name>)"
        )
    if credentials.provider == "iam" and credentials.user is not None and target.workgroup:
        raise ConfigError(
            "a named database user (credentials.user) works with a provisioned cluster "
            "only; on Serverless the user comes from the IAM identity or a secret "
            "(credentials.secret_arn)"
        )
