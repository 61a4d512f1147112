"""Database credentials for the loader, and the providers that fetch them.

A provider answers one question, "which user and password do I connect
with right now?", from one source: a value given in code, an SSM parameter,
a Secrets Manager secret, or temporary IAM credentials from Redshift
(provisioned or Serverless). The answer is a frozen :class:`DbCredentials`
whose password is a :class:`pydantic.SecretStr`, so it never appears in a
``str``, ``repr``, log line or error message by accident.

Caching lives in :meth:`CredentialProvider.get` and nowhere else, so every
source gets the same rules:

* a result is reused for ``max_age`` seconds (the constructor argument, else
  the ``S3REDSHIFT_CREDENTIALS_MAX_AGE`` environment variable, else 300);
  ``0`` turns caching off;
* credentials that expire (the IAM ones) are refreshed ``refresh_margin``
  seconds before ``expires_at``, even when ``max_age`` has not passed, so a
  connection is never opened with a password about to lapse;
* failures are never cached: the next call asks the source again;
* one lock per provider: threads that call :meth:`~CredentialProvider.get`
  while a refresh is running wait for it and reuse its result, so a burst of
  callers makes one API call.

Age is measured with a monotonic clock because wall time may jump (NTP); the
wall clock is read only to turn an AWS ``Expiration`` into a monotonic
deadline. Both come from an injectable :class:`Clock`, so tests move time
instead of sleeping.

The module keeps no state of its own: a provider that should survive warm
Lambda starts is created once by the Lambda adapter, not here.

AWS errors are translated by :func:`s3redshift.aws_errors.translate_aws_errors`,
the one translation every AWS call of the loader uses, always chained with
``from`` so the botocore cause stays inspectable. Each provider says only what
it asked for (the parameter, secret, cluster or workgroup, and its region),
the IAM action that allows it and the fix when it does not exist: a not-found
code becomes :class:`CredentialsError` naming them, a refusal a
:class:`PermissionDeniedError` naming the action to allow.
"""

from __future__ import annotations

import json
import logging
import math
import os
import re
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from s3redshift.aws_errors import AwsCall, Service, translate_aws_errors
from s3redshift.errors import (
    ConfigError,
    CredentialsError,
)

if TYPE_CHECKING:
    from mypy_boto3_redshift import RedshiftClient
    from mypy_boto3_redshift_serverless import RedshiftServerlessClient
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ssm import SSMClient

__all__ = [
    "DEFAULT_MAX_AGE",
    "DEFAULT_REFRESH_MARGIN",
    "MAX_AGE_ENV",
    "Clock",
    "ClusterIamProvider",
    "CredentialProvider",
    "DbCredentials",
    "SecretsManagerProvider",
    "ServerlessIamProvider",
    "SsmPasswordProvider",
    "StaticCredentials",
    "SystemClock",
]

_log = logging.getLogger(__name__)

MAX_AGE_ENV = "S3REDSHIFT_CREDENTIALS_MAX_AGE"
"""Environment variable giving the cache lifetime in seconds when no argument does."""

DEFAULT_MAX_AGE = 300.0
"""Seconds a result is reused when neither the argument nor the environment says."""

DEFAULT_REFRESH_MARGIN = 60.0
"""Seconds before ``expires_at`` at which expiring credentials are fetched anew."""

_MIN_DURATION = 900
_MAX_DURATION = 3600

_JSON_SHAPE_HINT = (
    'Redshift\'s secret shape is a JSON object with at least {"username": "...", "password": "..."}'
)
_PORT_TEXT = re.compile(r"[0-9]{1,5}")


# --- the value ---------------------------------------------------------------


class DbCredentials(BaseModel):
    """A database user and password, and when they stop working.

    ``expires_at`` is timezone-aware UTC, or ``None`` for a password that does
    not expire by itself (SSM, Secrets Manager, static). ``host``, ``port`` and
    ``database`` are hints a Secrets Manager secret may carry; the target
    configuration decides whether to use them.

    Inputs are hidden from validation errors because the password is one of
    them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid", hide_input_in_errors=True)

    user: str = Field(min_length=1)
    password: SecretStr = Field(min_length=1)
    expires_at: datetime | None = None
    host: str | None = None
    port: int | None = Field(default=None, ge=1, le=65535)
    database: str | None = None

    @field_validator("expires_at")
    @classmethod
    def _utc_expiry(cls, value: datetime | None) -> datetime | None:
        """Refuse naive datetimes: a deadline in an unknown zone is a guess."""
        if value is None:
            return None
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("expires_at must be timezone-aware")
        return value.astimezone(UTC)


# --- clocks ------------------------------------------------------------------


class Clock(Protocol):
    """Where a provider reads time: monotonic for ages, wall time for expiries."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""
        ...

    def now(self) -> datetime:
        """The current wall time, timezone-aware."""
        ...


class SystemClock:
    """The real clocks: :func:`time.monotonic` and :func:`datetime.now` in UTC."""

    def monotonic(self) -> float:
        """Seconds on the process's monotonic clock."""
        return time.monotonic()

    def now(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(UTC)

    def __repr__(self) -> str:
        return "SystemClock()"


# --- the cache ---------------------------------------------------------------


@dataclass(frozen=True)
class _CacheEntry:
    credentials: DbCredentials
    fresh_until: float  # on the provider clock's monotonic scale


class CredentialProvider(ABC):
    """Base of every provider: :meth:`get` caches, subclasses only fetch.

    Args:
        max_age: seconds a fetched result is reused; ``None`` reads
            ``S3REDSHIFT_CREDENTIALS_MAX_AGE``, then falls back to 300.
            ``0`` fetches on every call.
        refresh_margin: seconds before ``expires_at`` at which credentials
            count as stale, so a caller never receives a password that lapses
            while it is connecting.
        clock: the time source; tests pass a fake one.

    Raises:
        ConfigError: ``max_age`` (argument or environment) or
            ``refresh_margin`` is negative or not a number.
    """

    def __init__(
        self,
        *,
        max_age: float | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        clock: Clock | None = None,
    ) -> None:
        self._max_age = _resolve_max_age(max_age)
        self._refresh_margin = _seconds("refresh_margin", refresh_margin)
        self._clock: Clock = clock if clock is not None else SystemClock()
        self._lock = threading.Lock()
        self._entry: _CacheEntry | None = None

    @property
    def max_age(self) -> float:
        """Seconds a fetched result is reused (0: never)."""
        return self._max_age

    @property
    def refresh_margin(self) -> float:
        """Seconds before expiry at which credentials are fetched anew."""
        return self._refresh_margin

    def get(self) -> DbCredentials:
        """Return credentials, from the cache while they are fresh.

        The lock is held across the fetch on purpose: callers arriving during
        a refresh wait for it instead of each calling AWS.

        Raises:
            CredentialsError: the source is missing or malformed.
            PermissionDeniedError: AWS refused the call.
            ThrottledError, ConnectionLostError, RetryableError: a transient
                AWS failure; nothing is cached, so a retry asks again.
            ConfigError: the provider's AWS settings are unusable.
        """
        with self._lock:
            entry = self._entry
            if entry is not None and self._clock.monotonic() < entry.fresh_until:
                return entry.credentials
            # Drop the stale entry first so a failed fetch leaves nothing behind.
            self._entry = None
            credentials = self._fetch()
            if self._max_age > 0:
                self._entry = _CacheEntry(credentials, self._fresh_until(credentials))
            return credentials

    def prepare(self) -> None:
        """Create the provider's AWS client now (no AWS call), so the first fetch does not.

        Providers without a client do nothing. Raises what creating it raises
        (:class:`ConfigError` for unusable AWS settings).
        """
        return  # static credentials: nothing to create

    def clear(self) -> None:
        """Forget the cached credentials, for example after the database refused them."""
        with self._lock:
            self._entry = None

    def _fresh_until(self, credentials: DbCredentials) -> float:
        now = self._clock.monotonic()
        fresh_until = now + self._max_age
        if credentials.expires_at is not None:
            remaining = (credentials.expires_at - self._clock.now()).total_seconds()
            fresh_until = min(fresh_until, now + remaining - self._refresh_margin)
        return fresh_until

    @abstractmethod
    def _fetch(self) -> DbCredentials:
        """Ask the source for credentials; raise only s3redshift errors."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._describe()})"

    def _describe(self) -> str:
        """The provider's non-secret settings, for ``repr``."""
        return ""


def _seconds(name: str, value: float) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{name} must be a number of seconds, not {type(value).__name__}")
    if not math.isfinite(value) or value < 0:
        raise ConfigError(
            f"{name}={value!r} must be a finite number of seconds >= 0 (0 disables caching)"
        )
    return float(value)


def _resolve_max_age(max_age: float | None) -> float:
    if max_age is not None:
        return _seconds("max_age", max_age)
    raw = os.environ.get(MAX_AGE_ENV)
    if raw is None or not raw.strip():
        return DEFAULT_MAX_AGE
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise ConfigError(
            f"{MAX_AGE_ENV}={raw!r} is not a number of seconds >= 0; set it to 0 "
            f"(no caching) or a number of seconds such as {DEFAULT_MAX_AGE:g}"
        )
    return value


def _credentials(source: str, **fields: Any) -> DbCredentials:
    """Build :class:`DbCredentials` from AWS data, never echoing what failed.

    The ``ValidationError`` is not chained (``from None``): its ``errors()``
    would still hold the input, and the input includes the password.
    """
    try:
        return DbCredentials(**fields)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in err['loc'])}: {err['msg']}" for err in exc.errors()
        )
        raise CredentialsError(
            f"{source} returned unusable credentials ({problems}); check what the source holds"
        ) from None


def _aware_utc(value: datetime) -> datetime:
    """AWS timestamps are UTC; botocore marks them with tzlocal, so convert."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


# --- AWS error translation -----------------------------------------------------


def _aws_call(
    service: Service, what: str, action: str, not_found_fix: str, region: str | None
) -> AwsCall:
    """A provider's AWS call, for :func:`~s3redshift.aws_errors.translate_aws_errors`."""
    return AwsCall(
        service,
        what,
        permission=action,
        not_found=not_found_fix,
        fix="fix the provider settings",
        region=region,
    )


# --- providers -------------------------------------------------------------------


def _new_client(service: str, region: str | None, target: AwsCall) -> Any:
    """A boto3 client, made on a provider's first fetch (boto3 is imported here, lazily)."""
    with translate_aws_errors(target):
        import boto3

        return boto3.session.Session().client(service, region_name=region)  # type: ignore[call-overload]


class StaticCredentials(CredentialProvider):
    """A user and password given in code or configuration (tests, the local stand-in)."""

    def __init__(self, user: str, password: str | SecretStr) -> None:
        super().__init__(max_age=0)  # nothing to save by caching
        secret = password if isinstance(password, SecretStr) else SecretStr(password)
        self._credentials = _credentials("static credentials", user=user, password=secret)

    def _fetch(self) -> DbCredentials:
        return self._credentials

    def _describe(self) -> str:
        return f"user={self._credentials.user!r}"


class SsmPasswordProvider(CredentialProvider):
    """The password in an SSM parameter, with the user given separately (the seed's way).

    The parameter should be a ``SecureString``; it is read with decryption.
    A plain ``String`` parameter is accepted, because deployments of the seed
    may have stored the password that way and its ``DB_PW_PARAM`` setting must
    keep working, but every fetch logs a warning naming the parameter (never
    its value) and how to convert it. A ``StringList`` is refused with
    :class:`CredentialsError`: it is a comma-separated list, not a password.

    Needs ``ssm:GetParameter`` on the parameter and ``kms:Decrypt`` on its key
    when that key is customer-managed.
    """

    def __init__(
        self,
        parameter: str,
        user: str,
        *,
        client: SSMClient | None = None,
        region: str | None = None,
        max_age: float | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(max_age=max_age, refresh_margin=refresh_margin, clock=clock)
        if not parameter:
            raise ConfigError("SsmPasswordProvider needs the name of an SSM parameter")
        if not user:
            raise ConfigError(f"SsmPasswordProvider for SSM parameter {parameter!r} needs a user")
        self.parameter = parameter
        self.user = user
        self._client = client
        self._region = region

    def _target(self, region: str | None) -> AwsCall:
        return _aws_call(
            "ssm",
            f"SSM parameter {self.parameter!r}",
            f"ssm:GetParameter on {self.parameter!r} (and kms:Decrypt on its key)",
            (
                "create it as a SecureString or fix the credentials 'parameter' setting "
                "(DB_PW_PARAM)"
            ),
            region,
        )

    def prepare(self) -> None:
        self._ssm()

    def _ssm(self) -> SSMClient:
        if self._client is None:
            self._client = _new_client("ssm", self._region, self._target(self._region))
        return self._client

    def _fetch(self) -> DbCredentials:
        client = self._ssm()
        with translate_aws_errors(self._target(client.meta.region_name)):
            response = client.get_parameter(Name=self.parameter, WithDecryption=True)
        parameter = response.get("Parameter", {})
        kind = parameter.get("Type")
        value = parameter.get("Value")
        if kind == "StringList":
            raise CredentialsError(
                f"SSM parameter {self.parameter!r} is a StringList, not a password; store the "
                "password in a SecureString parameter"
            )
        if kind == "String":
            _log.warning(
                "SSM parameter %r holds the database password as a plain String, stored "
                "unencrypted; convert it with `aws ssm put-parameter --name %s --type "
                "SecureString --overwrite --value ...`",
                self.parameter,
                self.parameter,
            )
        if not value:
            raise CredentialsError(
                f"SSM parameter {self.parameter!r} returned no value; store the password in it"
            )
        return _credentials(
            f"SSM parameter {self.parameter!r}", user=self.user, password=SecretStr(value)
        )

    def _describe(self) -> str:
        return f"parameter={self.parameter!r}, user={self.user!r}, region={self._region!r}"


class SecretsManagerProvider(CredentialProvider):
    """User, password and connection hints from a Secrets Manager secret.

    The secret holds Redshift's JSON shape: ``username`` and ``password`` are
    required; ``host``, ``port`` (a number or a numeric string, as the AWS
    rotation function accepts), and ``dbname`` become connection hints;
    ``engine``, ``dbClusterIdentifier``, ``namespaceName`` and any other key
    are ignored. Errors name the secret and the key, never the secret's text.

    The secret may be rotated, so the password does not expire by itself:
    ``max_age`` bounds how long a rotated-away password stays cached, and a
    caller refused by the database can :meth:`clear` the cache.

    Needs ``secretsmanager:GetSecretValue`` (and ``kms:Decrypt`` for a
    customer-managed key).
    """

    def __init__(
        self,
        secret_id: str,
        *,
        client: SecretsManagerClient | None = None,
        region: str | None = None,
        max_age: float | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(max_age=max_age, refresh_margin=refresh_margin, clock=clock)
        if not secret_id:
            raise ConfigError("SecretsManagerProvider needs a secret id or ARN")
        self.secret_id = secret_id
        self._client = client
        self._region = region

    def _target(self, region: str | None) -> AwsCall:
        return _aws_call(
            "secretsmanager",
            f"Secrets Manager secret {self.secret_id!r}",
            f"secretsmanager:GetSecretValue on {self.secret_id!r}",
            (
                "create the secret or fix the credentials 'secret_arn' setting to name an "
                "existing one"
            ),
            region,
        )

    def prepare(self) -> None:
        self._secretsmanager()

    def _secretsmanager(self) -> SecretsManagerClient:
        if self._client is None:
            self._client = _new_client("secretsmanager", self._region, self._target(self._region))
        return self._client

    def _fetch(self) -> DbCredentials:
        client = self._secretsmanager()
        with translate_aws_errors(self._target(client.meta.region_name)):
            response = client.get_secret_value(SecretId=self.secret_id)
        text = response.get("SecretString")
        if text is None:
            raise CredentialsError(
                f"Secrets Manager secret {self.secret_id!r} has no SecretString (it holds binary "
                f"data); store it as text. {_JSON_SHAPE_HINT}"
            )
        return _parse_redshift_secret(self.secret_id, text)

    def _describe(self) -> str:
        return f"secret_id={self.secret_id!r}, region={self._region!r}"


def _parse_redshift_secret(secret_id: str, text: str) -> DbCredentials:
    """Read Redshift's secret JSON; errors name keys, never values.

    A ``JSONDecodeError`` keeps the whole document in its ``doc`` attribute,
    so it is not chained (``from None``); its line and column are enough.
    """
    where = f"Secrets Manager secret {secret_id!r}"
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CredentialsError(
            f"{where} is not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); "
            f"{_JSON_SHAPE_HINT}"
        ) from None
    if not isinstance(document, dict):
        raise CredentialsError(f"{where} holds JSON that is not an object; {_JSON_SHAPE_HINT}")
    username = _required_text(document, "username", where)
    password = _required_text(document, "password", where)
    return _credentials(
        where,
        user=username,
        password=SecretStr(password),
        host=_optional_text(document, "host", where),
        port=_optional_port(document, where),
        database=_optional_text(document, "dbname", where),
    )


def _required_text(document: Mapping[str, Any], key: str, where: str) -> str:
    if key not in document:
        raise CredentialsError(f"{where} has no {key!r} key; add it. {_JSON_SHAPE_HINT}")
    value = document[key]
    if not isinstance(value, str) or not value:
        raise CredentialsError(
            f"{where}: key {key!r} must be a non-empty string; fix its value in the secret"
        )
    return value


def _optional_text(document: Mapping[str, Any], key: str, where: str) -> str | None:
    value = document.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise CredentialsError(
            f"{where}: key {key!r} must be a string; fix its value in the secret"
        )
    return value


def _optional_port(document: Mapping[str, Any], where: str) -> int | None:
    value = document.get("port")
    if value is None or value == "":
        return None
    port: int | None = None
    if isinstance(value, int) and not isinstance(value, bool):
        port = value
    elif isinstance(value, str) and _PORT_TEXT.fullmatch(value.strip()):
        port = int(value.strip())
    if port is None or not 1 <= port <= 65535:
        raise CredentialsError(
            f"{where}: key 'port' is not a port number; set it to a number from 1 to 65535, "
            "such as 5439"
        )
    return port


def _duration(value: int, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f"{where}: duration_seconds must be an integer number of seconds")
    if not _MIN_DURATION <= value <= _MAX_DURATION:
        raise ConfigError(
            f"{where}: duration_seconds={value} is outside {_MIN_DURATION}..{_MAX_DURATION}; "
            "AWS issues temporary database credentials for 15 to 60 minutes"
        )
    return value


class ClusterIamProvider(CredentialProvider):
    """Temporary credentials for a provisioned cluster from IAM.

    ``GetClusterCredentials`` signs in as ``db_user`` (returned as
    ``IAM:<user>``, or ``IAMA:<user>`` with ``auto_create``).
    ``with_iam=True`` calls ``GetClusterCredentialsWithIAM`` instead, which
    maps the caller's IAM identity to a database user, so ``db_user``,
    ``auto_create`` and ``db_groups`` cannot be given with it.

    Raises:
        ConfigError: at construction, for a missing or contradictory setting
            or a duration outside 900..3600 seconds.
    """

    def __init__(
        self,
        cluster_identifier: str,
        database: str,
        *,
        db_user: str | None = None,
        with_iam: bool = False,
        duration_seconds: int = _MIN_DURATION,
        auto_create: bool = False,
        db_groups: Sequence[str] = (),
        client: RedshiftClient | None = None,
        region: str | None = None,
        max_age: float | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(max_age=max_age, refresh_margin=refresh_margin, clock=clock)
        if not cluster_identifier:
            raise ConfigError("ClusterIamProvider needs a cluster_identifier")
        where = f"ClusterIamProvider for cluster {cluster_identifier!r}"
        if not database:
            raise ConfigError(f"{where} needs a database name")
        if isinstance(db_groups, str):
            raise ConfigError(f"{where}: db_groups must be a list of group names, not a string")
        if with_iam:
            given = [
                name
                for name, is_set in (
                    ("db_user", db_user is not None),
                    ("auto_create", auto_create),
                    ("db_groups", bool(db_groups)),
                )
                if is_set
            ]
            if given:
                raise ConfigError(
                    f"{where}: with_iam=True maps the IAM identity to the database user, so "
                    f"{', '.join(given)} cannot be given; drop it or set with_iam=False"
                )
        elif not db_user:
            raise ConfigError(
                f"{where} needs db_user (GetClusterCredentials signs in as a named database "
                "user); pass db_user=... or with_iam=True"
            )
        self.cluster_identifier = cluster_identifier
        self.database = database
        self.db_user = db_user
        self.with_iam = with_iam
        self.duration_seconds = _duration(duration_seconds, where)
        self.auto_create = auto_create
        self.db_groups = tuple(db_groups)
        self._client = client
        self._region = region

    def _target(self, region: str | None) -> AwsCall:
        action = (
            "redshift:GetClusterCredentialsWithIAM"
            if self.with_iam
            else "redshift:GetClusterCredentials"
        )
        return _aws_call(
            "redshift",
            f"Redshift cluster {self.cluster_identifier!r}",
            f"{action} on cluster {self.cluster_identifier!r}",
            "fix the cluster_identifier setting to name an existing cluster",
            region,
        )

    def prepare(self) -> None:
        self._redshift()

    def _redshift(self) -> RedshiftClient:
        if self._client is None:
            self._client = _new_client("redshift", self._region, self._target(self._region))
        return self._client

    def _fetch(self) -> DbCredentials:
        client = self._redshift()
        with translate_aws_errors(self._target(client.meta.region_name)):
            if self.with_iam:
                response: Mapping[str, Any] = client.get_cluster_credentials_with_iam(
                    ClusterIdentifier=self.cluster_identifier,
                    DbName=self.database,
                    DurationSeconds=self.duration_seconds,
                )
            else:
                assert self.db_user is not None  # checked in __init__
                extra: dict[str, Any] = {"DbGroups": list(self.db_groups)} if self.db_groups else {}
                response = client.get_cluster_credentials(
                    ClusterIdentifier=self.cluster_identifier,
                    DbUser=self.db_user,
                    DbName=self.database,
                    DurationSeconds=self.duration_seconds,
                    AutoCreate=self.auto_create,
                    **extra,
                )
        return _temporary_credentials(
            f"Redshift cluster {self.cluster_identifier!r}",
            response,
            ("DbUser", "DbPassword", "Expiration"),
            database=self.database,
        )

    def _describe(self) -> str:
        return (
            f"cluster_identifier={self.cluster_identifier!r}, database={self.database!r}, "
            f"db_user={self.db_user!r}, with_iam={self.with_iam!r}, region={self._region!r}"
        )


class ServerlessIamProvider(CredentialProvider):
    """Temporary credentials for a Redshift Serverless workgroup from IAM.

    ``GetCredentials`` maps the caller's IAM identity to a database user
    (``IAM:<name>`` or ``IAMR:<role>``); its fields are camelCase.

    Raises:
        ConfigError: at construction, for a missing setting or a duration
            outside 900..3600 seconds.
    """

    def __init__(
        self,
        workgroup: str,
        database: str,
        *,
        duration_seconds: int = _MIN_DURATION,
        client: RedshiftServerlessClient | None = None,
        region: str | None = None,
        max_age: float | None = None,
        refresh_margin: float = DEFAULT_REFRESH_MARGIN,
        clock: Clock | None = None,
    ) -> None:
        super().__init__(max_age=max_age, refresh_margin=refresh_margin, clock=clock)
        if not workgroup:
            raise ConfigError("ServerlessIamProvider needs a workgroup name")
        where = f"ServerlessIamProvider for workgroup {workgroup!r}"
        if not database:
            raise ConfigError(f"{where} needs a database name")
        self.workgroup = workgroup
        self.database = database
        self.duration_seconds = _duration(duration_seconds, where)
        self._client = client
        self._region = region

    def _target(self, region: str | None) -> AwsCall:
        return _aws_call(
            "redshift-serverless",
            f"Redshift Serverless workgroup {self.workgroup!r}",
            f"redshift-serverless:GetCredentials on workgroup {self.workgroup!r}",
            "fix the workgroup setting to name an existing workgroup",
            region,
        )

    def prepare(self) -> None:
        self._serverless()

    def _serverless(self) -> RedshiftServerlessClient:
        if self._client is None:
            self._client = _new_client(
                "redshift-serverless", self._region, self._target(self._region)
            )
        return self._client

    def _fetch(self) -> DbCredentials:
        client = self._serverless()
        with translate_aws_errors(self._target(client.meta.region_name)):
            response: Mapping[str, Any] = client.get_credentials(
                workgroupName=self.workgroup,
                dbName=self.database,
                durationSeconds=self.duration_seconds,
            )
        return _temporary_credentials(
            f"Redshift Serverless workgroup {self.workgroup!r}",
            response,
            ("dbUser", "dbPassword", "expiration"),
            database=self.database,
        )

    def _describe(self) -> str:
        return f"workgroup={self.workgroup!r}, database={self.database!r}, region={self._region!r}"


def _temporary_credentials(
    source: str, response: Mapping[str, Any], names: tuple[str, str, str], *, database: str
) -> DbCredentials:
    """Turn an IAM credentials response into :class:`DbCredentials`.

    ``names`` are the user, password and expiration fields, which the two
    Redshift APIs spell differently.
    """
    user_field, password_field, expiration_field = names
    missing = [name for name in names if not response.get(name)]
    if missing:
        raise CredentialsError(
            f"{source} returned no {', '.join(missing)}; the AWS response is incomplete, retry "
            "or check the service status"
        )
    expiration = response[expiration_field]
    if not isinstance(expiration, datetime):
        raise CredentialsError(f"{source} returned an {expiration_field} that is not a time")
    return _credentials(
        source,
        user=response[user_field],
        password=SecretStr(response[password_field]),
        expires_at=_aware_utc(expiration),
        database=database,
    )
