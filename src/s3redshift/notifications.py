"""Announcing committed loads: one EventBridge event or SNS message per committed transaction.

A downstream job that waits for a table's data learns of each load as it
commits, with how late the data is (``lag_seconds``: from the oldest object's
event time to the commit). The contract is **best effort, at most once per
commit**:

* a message is sent only after the transaction committed, once, with no
  retry by the loader or by the SDK (a retried request whose first attempt got
  through would announce the commit twice);
* a redelivered event finds its objects in the ledger (``duplicate``) and
  commits nothing, so nothing is announced again; a transaction whose
  connection dropped at ``COMMIT`` is announced when the ledger shows it
  committed with the attempt's own ``loaded_at`` (``rows`` then ``null``);
* a failed delivery (any AWS error, throttling, a time-out, a missing
  permission, an entry EventBridge did not accept, or too little time left
  in the invocation) never fails, delays beyond its bound or repeats the
  load: the commit carries the error (``CommittedBatch.notification_error``),
  which the handler logs (one ``notification_failed`` JSON line, no secret)
  and counts (``NotificationsFailed``) and the CLI prints; that commit is
  never announced.

A consumer that must not miss a load reads the ledger (``s3redshift
ledger``), where every commit is, by its ``batch_id``.

The client is made on first use (or by :meth:`Notifier.prepare` at a
Lambda's INIT), never at import, and only when ``[notifications]`` is set.
"""

from __future__ import annotations

import contextlib
import json
import threading
from dataclasses import replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Final

from s3redshift.aws_errors import AwsCall, aws_error, translate_aws_errors
from s3redshift.errors import RetryableError, S3RedshiftError, TimeBudgetExceededError
from s3redshift.report import CommittedBatch

if TYPE_CHECKING:
    from s3redshift.config import NotificationsConfig

__all__ = [
    "DELIVERY_BOUND_S",
    "DETAIL_TYPE",
    "EVENT_SOURCE",
    "MAX_MESSAGE_BYTES",
    "Notifier",
    "event_detail",
]

EVENT_SOURCE: Final = "s3redshift"
"""The ``source`` of every EventBridge event (what a rule's event pattern matches)."""

DETAIL_TYPE: Final = "s3redshift load committed"
"""The ``detail-type`` of every EventBridge event, and the SNS messages' ``type`` attribute."""

EVENT_VERSION: Final = 1
"""``version`` of the payload; raised on any incompatible change."""

MAX_MESSAGE_BYTES: Final = 200_000
"""Bound of one payload, under the 256 KiB PutEvents and SNS take with their envelope:
past it the objects are cut off (``objects_omitted`` says how many; the ledger has all)."""

CONNECT_TIMEOUT_S: Final = 2.0
READ_TIMEOUT_S: Final = 3.0
DELIVERY_BOUND_S: Final = CONNECT_TIMEOUT_S + READ_TIMEOUT_S
"""The longest one delivery may take (one attempt, these time-outs): with less of the
invocation's time left, nothing is sent."""


def _utc_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def event_detail(commit: CommittedBatch) -> dict[str, Any]:
    """The payload of one commit's message (EventBridge ``detail``, SNS ``Message``).

    Objects are listed in load order while the payload stays under
    :data:`MAX_MESSAGE_BYTES`; ``object_count`` is always the whole count.
    """
    lag = commit.lag_seconds
    detail: dict[str, Any] = {
        "version": EVENT_VERSION,
        "table": commit.table,
        "batch_id": commit.batch_id,
        "mode": commit.mode,
        "rows": commit.rows,
        "committed_at": _utc_text(commit.committed_at),
        "oldest_object_time": (
            None if commit.oldest_object_time is None else _utc_text(commit.oldest_object_time)
        ),
        "lag_seconds": None if lag is None else round(lag, 3),
        "object_count": len(commit.objects),
        "objects_omitted": 0,
        "objects": [],
    }
    room = MAX_MESSAGE_BYTES - len(json.dumps(detail, ensure_ascii=False).encode())
    listed = detail["objects"]
    for entry in commit.objects:
        item = {
            "uri": entry.uri,
            "bucket": entry.bucket,
            "key": entry.key,
            "identity": entry.identity,
        }
        size = len(json.dumps(item, ensure_ascii=False).encode()) + 2  # ", " between items
        if size > room:
            break
        room -= size
        listed.append(item)
    detail["objects_omitted"] = len(commit.objects) - len(listed)
    return detail


class Notifier:
    """Sends each commit's message to the configured bus or topic; never raises.

    ``client`` is an ``events`` or ``sns`` boto3 client (tests pass moto's);
    by default one is made on first use, in the Region of the ARN, else the
    SDK's (``AWS_DEFAULT_REGION``, set on Lambda), with one attempt and short time-outs.
    """

    def __init__(self, config: NotificationsConfig, *, client: Any = None) -> None:
        self.event_bus = config.event_bus
        self.topic_arn = config.sns_topic_arn
        self._client = client
        self._owns_client = client is None  # a client passed in is the caller's
        # Targets deliver from their own threads; botocore does not promise
        # that clients are made safely from several threads at once.
        self._making = threading.Lock()

    @property
    def destination(self) -> str:
        """What the messages go to, as log lines and errors name it."""
        if self.event_bus is not None:
            return f"EventBridge bus {self.event_bus!r}"
        return f"SNS topic {self.topic_arn!r}"

    def _call(self) -> AwsCall:
        if self.event_bus is not None:
            return AwsCall(
                "events",
                self.destination,
                permission="events:PutEvents on the bus",
                not_found="create the bus or fix notifications.event_bus",
                fix="check notifications.event_bus",
            )
        return AwsCall(
            "sns",
            self.destination,
            permission="sns:Publish on the topic",
            not_found="create the topic or fix notifications.sns_topic_arn",
            fix="check notifications.sns_topic_arn",
        )

    def prepare(self) -> None:
        """Make the client now (no AWS call): a Lambda's INIT pays for it, not a load.

        A client that cannot be made (no Region for a bus named without its
        ARN) is left to the first delivery, which reports it: it never stops a load.
        """
        with contextlib.suppress(S3RedshiftError):
            _ = self.client

    def renew(self) -> None:
        """Drop the client this notifier made (it holds the credentials of its making)."""
        with self._making:
            if self._owns_client:
                self._client = None

    @property
    def client(self) -> Any:
        """The boto3 client, made on first use (boto3 is imported here, lazily)."""
        with self._making:
            if self._client is None:
                self._client = self._new_client()
        return self._client

    def _new_client(self) -> Any:
        """An ``events`` or ``sns`` client: one attempt, short time-outs, the ARN's Region."""
        import boto3
        from botocore.config import Config

        arn = self.event_bus if self.event_bus is not None else self.topic_arn
        region = arn.split(":")[3] if arn is not None and arn.startswith("arn:") else None
        bounded = Config(
            connect_timeout=CONNECT_TIMEOUT_S,
            read_timeout=READ_TIMEOUT_S,
            retries={"total_max_attempts": 1},
        )
        with translate_aws_errors(self._call()):
            if self.event_bus is not None:
                return boto3.client("events", region_name=region, config=bounded)
            return boto3.client("sns", region_name=region, config=bounded)

    def deliver(self, commit: CommittedBatch, time_budget: float | None) -> CommittedBatch:
        """Announce ``commit``; returns it with ``notified`` set. Never raises.

        Nothing is sent with less than :data:`DELIVERY_BOUND_S` of
        ``time_budget`` left; a failure is reported on the commit, not retried.
        """
        try:
            if time_budget is not None and time_budget < DELIVERY_BOUND_S:
                raise TimeBudgetExceededError(
                    f"not sent: {time_budget:.1f} s of the invocation's time were left, less "
                    f"than the {DELIVERY_BOUND_S:.0f} s one delivery may take",
                    table=commit.table,
                )
            self._send(commit)
        except S3RedshiftError as exc:
            return replace(commit, notified=False, notification_error=exc)
        except Exception as exc:  # a bug must not cost the load: it is committed
            error = RetryableError(
                f"unexpected {type(exc).__name__} announcing the load on {self.destination}",
                table=commit.table,
            )
            return replace(commit, notified=False, notification_error=error)
        return replace(commit, notified=True)

    def _send(self, commit: CommittedBatch) -> None:
        message = json.dumps(event_detail(commit), ensure_ascii=False, separators=(",", ":"))
        client = self.client
        with translate_aws_errors(self._call()):
            if self.event_bus is not None:
                answer = client.put_events(
                    Entries=[
                        {
                            "Source": EVENT_SOURCE,
                            "DetailType": DETAIL_TYPE,
                            "Detail": message,
                            "EventBusName": self.event_bus,
                            "Time": commit.committed_at,
                        }
                    ]
                )
            else:
                client.publish(**self._publish_arguments(commit, message))
                return
        if answer.get("FailedEntryCount", 0):
            raise self._entry_error(answer)

    def _publish_arguments(self, commit: CommittedBatch, message: str) -> dict[str, Any]:
        """SNS ``Publish``: the payload, attributes for subscription filters, FIFO ids."""
        assert self.topic_arn is not None
        arguments: dict[str, Any] = {
            "TopicArn": self.topic_arn,
            "Message": message,
            "MessageAttributes": {
                "type": {"DataType": "String", "StringValue": DETAIL_TYPE},
                "table": {"DataType": "String", "StringValue": commit.table},
                "mode": {"DataType": "String", "StringValue": commit.mode},
            },
        }
        if self.topic_arn.endswith(".fifo"):
            # One group per table keeps its commits in order; the batch id makes
            # SNS drop a second message of the same commit (5 minutes' window).
            arguments["MessageGroupId"] = commit.table[:128]
            arguments["MessageDeduplicationId"] = commit.batch_id[:128]
        return arguments

    def _entry_error(self, answer: Any) -> S3RedshiftError:
        """PutEvents answered, but did not take the entry: its error, by the one AWS table."""
        from botocore.exceptions import ClientError

        entry: dict[str, Any] = next(
            (e for e in answer.get("Entries", ()) if e.get("ErrorCode")), {}
        )
        code = str(entry.get("ErrorCode") or "FailedEntry")
        refused = ClientError(
            {"Error": {"Code": code, "Message": str(entry.get("ErrorMessage", ""))}}, "PutEvents"
        )
        return aws_error(refused, self._call())
