"""Database credentials for the loader, and the providers that fetch them.

A provider answers "which user and password do I connect with right now?"
from one source: a value given in code, an SSM parameter, a Secrets Manager
secret, or temporary IAM credentials from Redshift (provisioned or
Serverless). The answer is a frozen :class:`DbCredentials` whose password is
a :class:`pydantic.SecretStr`, so it never appears in a ``str``, ``repr``,
log line or error message by accident.

Caching lives in :meth:`CredentialProvider.get` alone, so every source gets
the same rules; the AWS providers share one base (:class:`_AwsProvider`) that
makes the client and translates its errors through
:func:`s3redshift.aws_errors.translate_aws_errors`, naming what was asked,
the IAM action that allows it and the fix. The module keeps no state: a
provider that should survive warm Lambda starts is made by the adapter.
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
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypedDict, Unpack

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


class Clock(Protocol):
    """Where a provider reads time: monotonic for ages, wall time for expiries."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes backwards."""

    def now(self) -> datetime:
        """The current wall time, timezone-aware."""


@dataclass(frozen=True)
class SystemClock:
    """The real clocks: :func:`time.monotonic` and :func:`datetime.now` in UTC."""

    def monotonic(self) -> float:
        """Seconds on the process's monotonic clock."""
        return time.monotonic()

    def now(self) -> datetime:
        """The current time in UTC."""
        return datetime.now(UTC)


@dataclass(frozen=True)
class _CacheEntry:
    credentials: DbCredentials
    fresh_until: float  # on the provider clock's monotonic scale


class CredentialProvider(ABC):
    """Base of every provider: :meth:`get` caches, subclasses only fetch.

    * a result is reused for ``max_age`` seconds (the argument, else
      ``S3REDSHIFT_CREDENTIALS_MAX_AGE``, else 300); ``0`` turns caching off;
    * credentials that expire (the IAM ones) are refreshed ``refresh_margin``
      seconds before ``expires_at``, so a connection is never opened with a
      password about to lapse; :meth:`clear` forgets them after a refusal;
    * failures are never cached: the next call asks the source again;
    * one lock per provider: a burst of callers makes one API call.

    Age is measured on the monotonic clock of an injectable :class:`Clock`
    (wall time may jump); its wall clock only turns an AWS ``Expiration``
    into a monotonic deadline.

    Raises:
        ConfigError: ``max_age`` (argument or environment) or
            ``refresh_margin`` is negative or not a number.
    """

    _shown: ClassVar[tuple[str, ...]] = ()
    """The settings ``repr`` shows: never a secret."""

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

    def renew(self) -> None:
        """Forget the cached credentials and every client made with the process's old credentials.

        For an execution environment resumed from a snapshot (Lambda
        SnapStart): what was cached or made before it may be hours old and
        shared by every environment resumed from it. The next :meth:`get`
        asks the source anew.
        """
        self.clear()

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
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._shown)
        return f"{type(self).__name__}({shown})"


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


class StaticCredentials(CredentialProvider):
    """A user and password given in code or configuration (tests, the local stand-in)."""

    _shown = ("user",)

    def __init__(self, user: str, password: str | SecretStr) -> None:
        super().__init__(max_age=0)  # nothing to save by caching
        self._credentials = _credentials("static credentials", user=user, password=password)
        self.user = self._credentials.user

    def _fetch(self) -> DbCredentials:
        return self._credentials


class AwsSettings(TypedDict, total=False):
    """Every AWS provider's keywords: its boto3 client (else made on first use), the region
    to make it in (``None``: boto3's default) and :class:`CredentialProvider`'s caching."""

    client: Any
    region: str | None
    max_age: float | None
    refresh_margin: float
    clock: Clock | None


class _AwsProvider(CredentialProvider):
    """A provider that asks one AWS API: its client, the call and the error translation.

    Subclasses say what they ask (``_ask``) and how to read the answer
    (``_read``); ``source`` names what is asked in every message, and
    ``permission`` is the IAM action a refusal names.
    """

    _service: ClassVar[Service]
    _not_found: ClassVar[str]
    """The fix when the resource the provider names does not exist."""

    def __init__(self, source: str, permission: str, **settings: Unpack[AwsSettings]) -> None:
        unknown = sorted(set(settings) - AwsSettings.__optional_keys__)
        if unknown:  # a misspelt keyword must not pass for the default
            raise TypeError(f"{type(self).__name__}() got unexpected keyword(s) {unknown}")
        super().__init__(
            max_age=settings.get("max_age"),
            refresh_margin=settings.get("refresh_margin", DEFAULT_REFRESH_MARGIN),
            clock=settings.get("clock"),
        )
        self.source = source
        self._permission = permission
        self._client = settings.get("client")
        self._owns_client = self._client is None  # a client passed in is the caller's
        self.region = settings.get("region")

    def _call(self, region: str | None) -> AwsCall:
        return AwsCall(
            self._service,
            self.source,
            permission=self._permission,
            not_found=self._not_found,
            fix="fix the provider settings",
            region=region,
        )

    def prepare(self) -> None:
        self._aws_client()

    def renew(self) -> None:
        """Also drop the provider's own boto3 client: it holds the credentials of its making."""
        super().renew()
        if self._owns_client:
            self._client = None

    def _aws_client(self) -> Any:
        """The boto3 client, made on first use (boto3 is imported here, lazily)."""
        if self._client is None:
            with translate_aws_errors(self._call(self.region)):
                import boto3

                session = boto3.session.Session()
                self._client = session.client(self._service, region_name=self.region)
        return self._client

    def _fetch(self) -> DbCredentials:
        client = self._aws_client()
        with translate_aws_errors(self._call(client.meta.region_name)):
            response = self._ask(client)
        return self._read(response)

    @abstractmethod
    def _ask(self, client: Any) -> Mapping[str, Any]:
        """The one AWS call, inside the error translation."""

    @abstractmethod
    def _read(self, response: Mapping[str, Any]) -> DbCredentials:
        """The credentials in the call's response; raise :class:`CredentialsError` if none."""


class SsmPasswordProvider(_AwsProvider):
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

    _service = "ssm"
    _not_found = (
        "create it as a SecureString or fix the credentials 'parameter' setting (DB_PW_PARAM)"
    )
    _shown = ("parameter", "user", "region")

    def __init__(self, parameter: str, user: str, **settings: Unpack[AwsSettings]) -> None:
        if not parameter:
            raise ConfigError("SsmPasswordProvider needs the name of an SSM parameter")
        if not user:
            raise ConfigError(f"SsmPasswordProvider for SSM parameter {parameter!r} needs a user")
        super().__init__(
            f"SSM parameter {parameter!r}",
            f"ssm:GetParameter on {parameter!r} (and kms:Decrypt on its key)",
            **settings,
        )
        self.parameter = parameter
        self.user = user

    def _ask(self, client: SSMClient) -> Mapping[str, Any]:
        return client.get_parameter(Name=self.parameter, WithDecryption=True)

    def _read(self, response: Mapping[str, Any]) -> DbCredentials:
        parameter = response.get("Parameter", {})
        kind = parameter.get("Type")
        if kind == "StringList":
            raise CredentialsError(
                f"{self.source} is a StringList, not a password; store the password in a "
                "SecureString parameter"
            )
        if kind == "String":
            _log.warning(
                "SSM parameter %r holds the database password as a plain String, stored "
                "unencrypted; convert it with `aws ssm put-parameter --name %s --type "
                "SecureString --overwrite --value ...`",
                self.parameter,
                self.parameter,
            )
        value = parameter.get("Value")
        if not value:
            raise CredentialsError(f"{self.source} returned no value; store the password in it")
        return _credentials(self.source, user=self.user, password=SecretStr(value))


class SecretsManagerProvider(_AwsProvider):
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

    _service = "secretsmanager"
    _not_found = (
        "create the secret or fix the credentials 'secret_arn' setting to name an existing one"
    )
    _shown = ("secret_id", "region")

    def __init__(self, secret_id: str, **settings: Unpack[AwsSettings]) -> None:
        if not secret_id:
            raise ConfigError("SecretsManagerProvider needs a secret id or ARN")
        super().__init__(
            f"Secrets Manager secret {secret_id!r}",
            f"secretsmanager:GetSecretValue on {secret_id!r}",
            **settings,
        )
        self.secret_id = secret_id

    def _ask(self, client: SecretsManagerClient) -> Mapping[str, Any]:
        return client.get_secret_value(SecretId=self.secret_id)

    def _read(self, response: Mapping[str, Any]) -> DbCredentials:
        text, where = response.get("SecretString"), self.source
        if text is None:
            raise CredentialsError(
                f"{where} has no SecretString (it holds binary data); store it as text. "
                f"{_JSON_SHAPE_HINT}"
            )
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            # Not chained: the error's ``doc`` holds the whole secret.
            raise CredentialsError(
                f"{where} is not valid JSON ({exc.msg} at line {exc.lineno}, column "
                f"{exc.colno}); {_JSON_SHAPE_HINT}"
            ) from None
        if not isinstance(document, dict):
            raise CredentialsError(f"{where} holds JSON that is not an object; {_JSON_SHAPE_HINT}")
        return _credentials(
            where,
            user=_text(document, "username", where, required=True),
            password=_text(document, "password", where, required=True),
            host=_text(document, "host", where, required=False),
            port=_optional_port(document, where),
            database=_text(document, "dbname", where, required=False),
        )


def _text(document: Mapping[str, Any], key: str, where: str, *, required: bool) -> str | None:
    """A string key of the secret; an optional one may be absent or empty."""
    if required and key not in document:
        raise CredentialsError(f"{where} has no {key!r} key; add it. {_JSON_SHAPE_HINT}")
    value = document.get(key)
    if not required and (value is None or value == ""):
        return None
    if not isinstance(value, str) or not value:
        shape = "a non-empty string" if required else "a string"
        raise CredentialsError(f"{where}: key {key!r} must be {shape}; fix its value in the secret")
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


class _IamProvider(_AwsProvider):
    """Temporary credentials from IAM for one database, for 15 to 60 minutes.

    ``_fields`` name the user, password and expiration in the response, which
    the two Redshift APIs spell differently.
    """

    _fields: ClassVar[tuple[str, str, str]]

    def __init__(
        self,
        where: str,
        database: str,
        duration_seconds: int,
        *call: str,
        **settings: Unpack[AwsSettings],
    ) -> None:
        if not database:
            raise ConfigError(f"{where} needs a database name")
        if isinstance(duration_seconds, bool) or not isinstance(duration_seconds, int):
            raise ConfigError(f"{where}: duration_seconds must be an integer number of seconds")
        if not _MIN_DURATION <= duration_seconds <= _MAX_DURATION:
            raise ConfigError(
                f"{where}: duration_seconds={duration_seconds} is outside "
                f"{_MIN_DURATION}..{_MAX_DURATION}; AWS issues temporary database credentials "
                "for 15 to 60 minutes"
            )
        super().__init__(*call, **settings)
        self.database = database
        self.duration_seconds = duration_seconds

    def _read(self, response: Mapping[str, Any]) -> DbCredentials:
        missing = [name for name in self._fields if not response.get(name)]
        if missing:
            raise CredentialsError(
                f"{self.source} returned no {', '.join(missing)}; the AWS response is "
                "incomplete, retry or check the service status"
            )
        user, password, expiration = (response[name] for name in self._fields)
        if not isinstance(expiration, datetime):
            raise CredentialsError(
                f"{self.source} returned an {self._fields[2]} that is not a time"
            )
        # AWS times are UTC; botocore marks them with tzlocal.
        utc = expiration.astimezone(UTC) if expiration.tzinfo else expiration.replace(tzinfo=UTC)
        return _credentials(
            self.source, user=user, password=password, expires_at=utc, database=self.database
        )


class ClusterIamProvider(_IamProvider):
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

    _service = "redshift"
    _fields = ("DbUser", "DbPassword", "Expiration")
    _not_found = "fix the cluster_identifier setting to name an existing cluster"
    _shown = ("cluster_identifier", "database", "db_user", "with_iam", "region")

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
        **settings: Unpack[AwsSettings],
    ) -> None:
        if not cluster_identifier:
            raise ConfigError("ClusterIamProvider needs a cluster_identifier")
        where = f"ClusterIamProvider for cluster {cluster_identifier!r}"
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
        action = "GetClusterCredentialsWithIAM" if with_iam else "GetClusterCredentials"
        super().__init__(
            where,
            database,
            duration_seconds,
            f"Redshift cluster {cluster_identifier!r}",
            f"redshift:{action} on cluster {cluster_identifier!r}",
            **settings,
        )
        self.cluster_identifier = cluster_identifier
        self.db_user = db_user
        self.with_iam = with_iam
        self.auto_create = auto_create
        self.db_groups = tuple(db_groups)

    def _ask(self, client: RedshiftClient) -> Mapping[str, Any]:
        if self.with_iam:
            return client.get_cluster_credentials_with_iam(
                ClusterIdentifier=self.cluster_identifier,
                DbName=self.database,
                DurationSeconds=self.duration_seconds,
            )
        assert self.db_user is not None  # checked in __init__
        extra: dict[str, Any] = {"DbGroups": list(self.db_groups)} if self.db_groups else {}
        return client.get_cluster_credentials(
            ClusterIdentifier=self.cluster_identifier,
            DbUser=self.db_user,
            DbName=self.database,
            DurationSeconds=self.duration_seconds,
            AutoCreate=self.auto_create,
            **extra,
        )


class ServerlessIamProvider(_IamProvider):
    """Temporary credentials for a Redshift Serverless workgroup from IAM.

    ``GetCredentials`` maps the caller's IAM identity to a database user
    (``IAM:<name>`` or ``IAMR:<role>``); its fields are camelCase.

    Raises:
        ConfigError: at construction, for a missing setting or a duration
            outside 900..3600 seconds.
    """

    _service = "redshift-serverless"
    _fields = ("dbUser", "dbPassword", "expiration")
    _not_found = "fix the workgroup setting to name an existing workgroup"
    _shown = ("workgroup", "database", "region")

    def __init__(
        self,
        workgroup: str,
        database: str,
        *,
        duration_seconds: int = _MIN_DURATION,
        **settings: Unpack[AwsSettings],
    ) -> None:
        if not workgroup:
            raise ConfigError("ServerlessIamProvider needs a workgroup name")
        super().__init__(
            f"ServerlessIamProvider for workgroup {workgroup!r}",
            database,
            duration_seconds,
            f"Redshift Serverless workgroup {workgroup!r}",
            f"redshift-serverless:GetCredentials on workgroup {workgroup!r}",
            **settings,
        )
        self.workgroup = workgroup

    def _ask(self, client: RedshiftServerlessClient) -> Mapping[str, Any]:
        return client.get_credentials(
            workgroupName=self.workgroup,
            dbName=self.database,
            durationSeconds=self.duration_seconds,
        )
