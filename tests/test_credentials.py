"""Credential providers against moto (or botocore's Stubber where moto has no API).

API calls are counted with botocore event hooks on the real client, never by
patching s3redshift; time moves through a fake clock, never by sleeping.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import threading
import traceback
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from moto import mock_aws
from pydantic import SecretStr, ValidationError

from s3redshift import credentials as creds_mod
from s3redshift.credentials import (
    MAX_AGE_ENV,
    ClusterIamProvider,
    CredentialProvider,
    DbCredentials,
    SecretsManagerProvider,
    ServerlessIamProvider,
    SsmPasswordProvider,
    StaticCredentials,
)
from s3redshift.errors import (
    ConfigError,
    ConnectionLostError,
    CredentialsError,
    PermissionDeniedError,
    RetryableError,
    ThrottledError,
)

REGION = "eu-west-1"
SENTINEL = "SENTINEL-PW-7c1e"
LOGGER = "s3redshift.credentials"


# --- helpers -----------------------------------------------------------------


class FakeClock:
    """Both clocks of a provider, moved together by :meth:`advance`."""

    def __init__(self, wall: datetime | None = None) -> None:
        self.mono = 1000.0
        self.wall = wall if wall is not None else datetime.now(UTC)

    def monotonic(self) -> float:
        return self.mono

    def now(self) -> datetime:
        return self.wall

    def advance(self, seconds: float) -> None:
        self.mono += seconds
        self.wall += timedelta(seconds=seconds)


class CallCounter:
    """Counts calls of one operation through the client's own event system.

    Registered first so that it also sees calls a Stubber answers.
    """

    def __init__(self, client: Any, operation: str, *, delay: threading.Event | None = None):
        self.count = 0
        self._lock = threading.Lock()
        self._delay = delay
        service = client.meta.service_model.service_id.hyphenize()
        client.meta.events.register_first(f"before-call.{service}.{operation}", self)

    def __call__(self, **_: Any) -> None:
        with self._lock:
            self.count += 1
        if self._delay is not None:
            # Hold the API call open so other threads pile up on the provider's lock.
            self._delay.wait(0.3)


def full_text(exc: BaseException) -> str:
    """Everything a traceback would print, chained causes included."""
    return "".join(traceback.format_exception(exc))


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SECURITY_TOKEN": "testing",
        "AWS_SESSION_TOKEN": "testing",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": "/nonexistent/aws-config",
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    }.items():
        monkeypatch.setenv(name, value)
    # An endpoint override (the embedded stand-in sets one) would send calls past moto.
    endpoint_overrides = [name for name in os.environ if name.startswith("AWS_ENDPOINT_URL")]
    for name in ("AWS_REGION", "AWS_PROFILE", MAX_AGE_ENV, *endpoint_overrides):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aws(aws_env: None) -> Iterator[None]:
    with mock_aws():
        yield


@pytest.fixture
def ssm(aws: None) -> Any:
    return boto3.client("ssm", region_name=REGION)


@pytest.fixture
def secretsmanager(aws: None) -> Any:
    return boto3.client("secretsmanager", region_name=REGION)


@pytest.fixture
def redshift(aws: None) -> Any:
    client = boto3.client("redshift", region_name=REGION)
    client.create_cluster(
        ClusterIdentifier="analytics",
        NodeType="ra3.xlplus",
        MasterUsername="admin",
        MasterUserPassword="Admin-Passw0rd",
        DBName="dev",
    )
    return client


# --- DbCredentials -------------------------------------------------------------


def test_db_credentials_hide_the_password() -> None:
    creds = DbCredentials(user="loader", password=SecretStr(SENTINEL))
    assert repr(creds) == (
        "DbCredentials(user='loader', password=SecretStr('**********'), expires_at=None, "
        "host=None, port=None, database=None)"
    )
    assert SENTINEL not in str(creds)
    assert SENTINEL not in creds.model_dump_json()
    assert creds.password.get_secret_value() == SENTINEL


def test_db_credentials_expiry_is_utc_and_naive_times_are_refused() -> None:
    plus_two = timezone(timedelta(hours=2))
    creds = DbCredentials(
        user="u", password=SecretStr("p"), expires_at=datetime(2026, 1, 1, 12, 0, tzinfo=plus_two)
    )
    assert creds.expires_at == datetime(2026, 1, 1, 10, 0, tzinfo=UTC)
    assert creds.expires_at is not None
    assert creds.expires_at.tzinfo is UTC
    with pytest.raises(ValidationError, match="expires_at must be timezone-aware"):
        DbCredentials(user="u", password=SecretStr("p"), expires_at=datetime(2026, 1, 1))


def test_db_credentials_are_frozen_and_strict() -> None:
    creds = DbCredentials(user="u", password=SecretStr("p"))
    with pytest.raises(ValidationError):
        creds.user = "other"  # type: ignore[misc]
    with pytest.raises(ValidationError, match="extra_forbidden"):
        DbCredentials(user="u", password=SecretStr("p"), pasword="typo")  # type: ignore[call-arg]
    with pytest.raises(ValidationError) as excinfo:
        DbCredentials(user="", password=SecretStr(SENTINEL), port=70000)
    assert {e["loc"] for e in excinfo.value.errors()} == {("user",), ("port",)}
    assert SENTINEL not in str(excinfo.value)


# --- StaticCredentials -----------------------------------------------------------


def test_static_credentials_return_what_was_given() -> None:
    provider = StaticCredentials("loader", SENTINEL)
    creds = provider.get()
    assert creds.user == "loader"
    assert creds.password.get_secret_value() == SENTINEL
    assert creds.expires_at is None
    assert provider.get() is creds
    assert repr(provider) == "StaticCredentials(user='loader')"


def test_static_credentials_refuse_an_empty_password() -> None:
    with pytest.raises(CredentialsError) as excinfo:
        StaticCredentials("loader", "")
    assert str(excinfo.value) == (
        "static credentials returned unusable credentials (password: Value should have at "
        "least 1 item after validation, not 0); check what the source holds"
    )


# --- SSM ---------------------------------------------------------------------------


def test_ssm_secure_string_is_returned_decrypted(ssm: Any) -> None:
    ssm.put_parameter(Name="/prod/redshift/pw", Value="s3cr3t-value", Type="SecureString")
    provider = SsmPasswordProvider("/prod/redshift/pw", "loader", client=ssm)
    creds = provider.get()
    assert creds == DbCredentials(user="loader", password=SecretStr("s3cr3t-value"))
    assert repr(provider) == (
        "SsmPasswordProvider(parameter='/prod/redshift/pw', user='loader', region=None)"
    )


def test_a_misspelt_keyword_is_refused_not_ignored() -> None:
    with pytest.raises(TypeError, match="regoin"):
        SsmPasswordProvider("/pw", "loader", regoin="us-east-2")  # type: ignore[call-arg]
    with pytest.raises(TypeError, match="max_agee"):
        ServerlessIamProvider("wg", "dev", max_agee=5)  # type: ignore[call-arg]


def test_ssm_client_is_created_lazily_in_the_given_region(aws: None) -> None:
    boto3.client("ssm", region_name="us-east-2").put_parameter(
        Name="/pw", Value="ohio", Type="SecureString"
    )
    provider = SsmPasswordProvider("/pw", "loader", region="us-east-2")
    assert provider.get().password.get_secret_value() == "ohio"


def test_ssm_missing_parameter_names_it_and_the_fix(ssm: Any) -> None:
    provider = SsmPasswordProvider("/prod/redshift/missing", "loader", client=ssm)
    with pytest.raises(CredentialsError) as excinfo:
        provider.get()
    assert str(excinfo.value) == (
        "SSM parameter '/prod/redshift/missing' was not found in region eu-west-1 "
        "(ParameterNotFound); create it as a SecureString or fix the credentials 'parameter' "
        "setting (DB_PW_PARAM)"
    )
    assert isinstance(excinfo.value.__cause__, ClientError)


def test_ssm_plain_string_is_used_with_a_warning(
    ssm: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """Documented choice: a String parameter works (the seed's setups must keep working)
    but each fetch warns, naming the parameter and never its value."""
    ssm.put_parameter(Name="/legacy/pw", Value=SENTINEL, Type="String")
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    creds = SsmPasswordProvider("/legacy/pw", "loader", client=ssm).get()
    assert creds.password.get_secret_value() == SENTINEL
    warnings = [r for r in caplog.records if r.name == LOGGER and r.levelno == logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        "SSM parameter '/legacy/pw' holds the database password as a plain String, stored "
        "unencrypted; convert it with `aws ssm put-parameter --name /legacy/pw --type "
        "SecureString --overwrite --value ...`"
    ]
    assert all(SENTINEL not in r.getMessage() for r in caplog.records)


def test_ssm_string_list_is_refused(ssm: Any) -> None:
    ssm.put_parameter(Name="/list", Value="a,b", Type="StringList")
    with pytest.raises(CredentialsError) as excinfo:
        SsmPasswordProvider("/list", "loader", client=ssm).get()
    assert str(excinfo.value) == (
        "SSM parameter '/list' is a StringList, not a password; store the password in a "
        "SecureString parameter"
    )


# --- Secrets Manager -----------------------------------------------------------------


def _redshift_secret(**overrides: Any) -> str:
    secret: dict[str, Any] = {
        "engine": "redshift",
        "host": "analytics.abc123.eu-west-1.redshift.amazonaws.com",
        "username": "loader",
        "password": SENTINEL,
        "dbname": "dev",
        "port": 5439,
        "dbClusterIdentifier": "analytics",
    }
    secret.update(overrides)
    return json.dumps({k: v for k, v in secret.items() if v is not ...})


@pytest.mark.parametrize("port", [5439, "5439"], ids=["number", "string"])
def test_secrets_manager_reads_redshift_shape(secretsmanager: Any, port: object) -> None:
    secretsmanager.create_secret(
        Name="prod/redshift/loader", SecretString=_redshift_secret(port=port)
    )
    provider = SecretsManagerProvider("prod/redshift/loader", client=secretsmanager)
    assert provider.get() == DbCredentials(
        user="loader",
        password=SecretStr(SENTINEL),
        host="analytics.abc123.eu-west-1.redshift.amazonaws.com",
        port=5439,
        database="dev",
    )
    assert repr(provider) == "SecretsManagerProvider(secret_id='prod/redshift/loader', region=None)"


def test_secrets_manager_minimal_serverless_secret(secretsmanager: Any) -> None:
    text = json.dumps({"username": "admin", "password": "pw", "namespaceName": "ns"})
    secretsmanager.create_secret(Name="managed", SecretString=text)
    creds = SecretsManagerProvider("managed", client=secretsmanager).get()
    assert creds == DbCredentials(user="admin", password=SecretStr("pw"))


SHAPE = (
    'Redshift\'s secret shape is a JSON object with at least {"username": "...", "password": "..."}'
)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        pytest.param(
            _redshift_secret(password=...),
            "Secrets Manager secret 'bad' has no 'password' key; add it. " + SHAPE,
            id="missing-password",
        ),
        pytest.param(
            _redshift_secret(username=...),
            "Secrets Manager secret 'bad' has no 'username' key; add it. " + SHAPE,
            id="missing-username",
        ),
        pytest.param(
            '{"username": "loader", "password": "' + SENTINEL + '"',
            "Secrets Manager secret 'bad' is not valid JSON (Expecting ',' delimiter at line 1, "
            "column 54); " + SHAPE,
            id="malformed-json",
        ),
        pytest.param(
            _redshift_secret(port="54x" + SENTINEL),
            "Secrets Manager secret 'bad': key 'port' is not a port number; set it to a number "
            "from 1 to 65535, such as 5439",
            id="non-numeric-port",
        ),
        pytest.param(
            _redshift_secret(port=True),
            "Secrets Manager secret 'bad': key 'port' is not a port number; set it to a number "
            "from 1 to 65535, such as 5439",
            id="boolean-port",
        ),
        pytest.param(
            _redshift_secret(port=99999),
            "Secrets Manager secret 'bad': key 'port' is not a port number; set it to a number "
            "from 1 to 65535, such as 5439",
            id="port-out-of-range",
        ),
        pytest.param(
            _redshift_secret(password=12345),
            "Secrets Manager secret 'bad': key 'password' must be a non-empty string; fix its "
            "value in the secret",
            id="numeric-password",
        ),
        pytest.param(
            _redshift_secret(host=["h"]),
            "Secrets Manager secret 'bad': key 'host' must be a string; fix its value in the "
            "secret",
            id="list-host",
        ),
        pytest.param(
            json.dumps([SENTINEL]),
            "Secrets Manager secret 'bad' holds JSON that is not an object; " + SHAPE,
            id="not-an-object",
        ),
    ],
)
def test_secrets_manager_malformed_secret(secretsmanager: Any, text: str, message: str) -> None:
    secretsmanager.create_secret(Name="bad", SecretString=text)
    with pytest.raises(CredentialsError) as excinfo:
        SecretsManagerProvider("bad", client=secretsmanager).get()
    assert str(excinfo.value) == message
    assert SENTINEL not in full_text(excinfo.value)
    # Not chained: a JSONDecodeError would carry the whole secret in its `doc`.
    assert excinfo.value.__cause__ is None


def test_secrets_manager_binary_secret_is_refused(secretsmanager: Any) -> None:
    secretsmanager.create_secret(Name="bin", SecretBinary=SENTINEL.encode())
    with pytest.raises(CredentialsError) as excinfo:
        SecretsManagerProvider("bin", client=secretsmanager).get()
    assert str(excinfo.value) == (
        "Secrets Manager secret 'bin' has no SecretString (it holds binary data); store it as "
        "text. " + SHAPE
    )


def test_secrets_manager_missing_secret(secretsmanager: Any) -> None:
    with pytest.raises(CredentialsError) as excinfo:
        SecretsManagerProvider("prod/none", client=secretsmanager).get()
    assert str(excinfo.value) == (
        "Secrets Manager secret 'prod/none' was not found in region eu-west-1 "
        "(ResourceNotFoundException); create the secret or fix the credentials 'secret_arn' "
        "setting to name an existing one"
    )
    assert isinstance(excinfo.value.__cause__, ClientError)


# --- Redshift provisioned ----------------------------------------------------------------


def test_cluster_credentials_from_moto(redshift: Any) -> None:
    """moto answers GetClusterCredentials with 'IAM:<user>', a 32-character random
    password and an expiration duration_seconds from now."""
    before = datetime.now(UTC)
    provider = ClusterIamProvider(
        "analytics", "dev", db_user="loader", duration_seconds=1800, client=redshift
    )
    creds = provider.get()
    after = datetime.now(UTC)
    assert creds.user == "IAM:loader"
    password = creds.password.get_secret_value()
    assert len(password) == 32
    assert password.isalnum()
    assert creds.database == "dev"
    assert creds.expires_at is not None
    assert creds.expires_at.tzinfo is UTC
    # moto's XML timestamp keeps microseconds; allow for rounding to the second.
    assert before + timedelta(seconds=1799) <= creds.expires_at <= after + timedelta(seconds=1801)
    assert repr(provider) == (
        "ClusterIamProvider(cluster_identifier='analytics', database='dev', db_user='loader', "
        "with_iam=False, region=None)"
    )


def test_cluster_credentials_auto_create_prefix(redshift: Any) -> None:
    creds = ClusterIamProvider(
        "analytics", "dev", db_user="newbie", auto_create=True, client=redshift
    ).get()
    assert creds.user == "IAMA:newbie"


def test_cluster_not_found(redshift: Any) -> None:
    with pytest.raises(CredentialsError) as excinfo:
        ClusterIamProvider("nope", "dev", db_user="loader", client=redshift).get()
    assert str(excinfo.value) == (
        "Redshift cluster 'nope' was not found in region eu-west-1 (ClusterNotFound); fix the "
        "cluster_identifier setting to name an existing cluster"
    )


def test_cluster_credentials_request_shape_with_groups(aws_env: None) -> None:
    client = boto3.client("redshift", region_name=REGION)
    expiration = datetime(2026, 11, 28, 12, 15, tzinfo=UTC)
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_cluster_credentials",
            {"DbUser": "IAMA:loader", "DbPassword": SENTINEL, "Expiration": expiration},
            expected_params={
                "ClusterIdentifier": "analytics",
                "DbUser": "loader",
                "DbName": "dev",
                "DurationSeconds": 3600,
                "AutoCreate": True,
                "DbGroups": ["loaders", "readers"],
            },
        )
        creds = ClusterIamProvider(
            "analytics",
            "dev",
            db_user="loader",
            auto_create=True,
            db_groups=["loaders", "readers"],
            duration_seconds=3600,
            client=client,
        ).get()
        stubber.assert_no_pending_responses()
    assert creds.user == "IAMA:loader"
    assert creds.expires_at == expiration


def test_cluster_credentials_with_iam(aws_env: None) -> None:
    """moto 5 does not implement GetClusterCredentialsWithIAM (it raises
    NotImplementedError), so a real client answered by botocore's Stubber stands in."""
    client = boto3.client("redshift", region_name=REGION)
    expiration = datetime(2026, 11, 28, 12, 15, tzinfo=UTC)
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_cluster_credentials_with_iam",
            {
                "DbUser": "IAM:alice",
                "DbPassword": "temp-pw",
                "Expiration": expiration,
                "NextRefreshTime": expiration - timedelta(minutes=5),
            },
            expected_params={
                "ClusterIdentifier": "analytics",
                "DbName": "dev",
                "DurationSeconds": 900,
            },
        )
        creds = ClusterIamProvider("analytics", "dev", with_iam=True, client=client).get()
        stubber.assert_no_pending_responses()
    assert creds == DbCredentials(
        user="IAM:alice", password=SecretStr("temp-pw"), expires_at=expiration, database="dev"
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"db_user": "loader", "duration_seconds": 899},
            "ClusterIamProvider for cluster 'analytics': duration_seconds=899 is outside "
            "900..3600; AWS issues temporary database credentials for 15 to 60 minutes",
            id="too-short",
        ),
        pytest.param(
            {"db_user": "loader", "duration_seconds": 3601},
            "ClusterIamProvider for cluster 'analytics': duration_seconds=3601 is outside "
            "900..3600; AWS issues temporary database credentials for 15 to 60 minutes",
            id="too-long",
        ),
        pytest.param(
            {},
            "ClusterIamProvider for cluster 'analytics' needs db_user (GetClusterCredentials "
            "signs in as a named database user); pass db_user=... or with_iam=True",
            id="no-user",
        ),
        pytest.param(
            {"with_iam": True, "db_user": "loader", "db_groups": ["g"]},
            "ClusterIamProvider for cluster 'analytics': with_iam=True maps the IAM identity to "
            "the database user, so db_user, db_groups cannot be given; drop it or set "
            "with_iam=False",
            id="iam-with-user",
        ),
    ],
)
def test_cluster_provider_settings_are_checked(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as excinfo:
        ClusterIamProvider("analytics", "dev", **kwargs)
    assert str(excinfo.value) == message


# --- Redshift Serverless ------------------------------------------------------------------


def test_serverless_credentials(aws_env: None) -> None:
    """moto 5 has no redshift-serverless backend, so a real client answered by
    botocore's Stubber stands in; the request is checked for its camelCase names."""
    client = boto3.client("redshift-serverless", region_name=REGION)
    expiration = datetime(2026, 11, 28, 12, 30, tzinfo=UTC)
    with Stubber(client) as stubber:
        stubber.add_response(
            "get_credentials",
            {"dbUser": "IAMR:loader-role", "dbPassword": "temp-pw", "expiration": expiration},
            expected_params={
                "workgroupName": "analytics-wg",
                "dbName": "dev",
                "durationSeconds": 1200,
            },
        )
        provider = ServerlessIamProvider(
            "analytics-wg", "dev", duration_seconds=1200, client=client
        )
        creds = provider.get()
        stubber.assert_no_pending_responses()
    assert creds == DbCredentials(
        user="IAMR:loader-role",
        password=SecretStr("temp-pw"),
        expires_at=expiration,
        database="dev",
    )
    assert repr(provider) == (
        "ServerlessIamProvider(workgroup='analytics-wg', database='dev', region=None)"
    )


def test_serverless_workgroup_not_found(aws_env: None) -> None:
    client = boto3.client("redshift-serverless", region_name=REGION)
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "get_credentials", service_error_code="ResourceNotFoundException", http_status_code=404
        )
        with pytest.raises(CredentialsError) as excinfo:
            ServerlessIamProvider("gone-wg", "dev", client=client).get()
    assert str(excinfo.value) == (
        "Redshift Serverless workgroup 'gone-wg' was not found in region eu-west-1 "
        "(ResourceNotFoundException); fix the workgroup setting to name an existing workgroup"
    )


def test_serverless_incomplete_response(aws_env: None) -> None:
    client = boto3.client("redshift-serverless", region_name=REGION)
    with Stubber(client) as stubber:
        stubber.add_response("get_credentials", {"dbUser": "IAM:x", "dbPassword": SENTINEL})
        with pytest.raises(CredentialsError) as excinfo:
            ServerlessIamProvider("analytics-wg", "dev", client=client).get()
    assert str(excinfo.value) == (
        "Redshift Serverless workgroup 'analytics-wg' returned no expiration; the AWS response "
        "is incomplete, retry or check the service status"
    )


# --- error translation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "status", "expected", "message"),
    [
        (
            "ThrottlingException",
            400,
            ThrottledError,
            "AWS throttled the request for SSM parameter '/pw' (ThrottlingException: boom); "
            "retry later",
        ),
        (
            "TooManyRequestsException",
            429,
            ThrottledError,
            "AWS throttled the request for SSM parameter '/pw' (TooManyRequestsException: boom); "
            "retry later",
        ),
        (
            "AccessDeniedException",
            400,
            PermissionDeniedError,
            "AWS denied access to SSM parameter '/pw' (AccessDeniedException: boom); allow "
            "ssm:GetParameter on '/pw' (and kms:Decrypt on its key) for the role the loader "
            "runs as",
        ),
        (
            "ValidationException",
            400,
            ConfigError,
            "AWS rejected the request for SSM parameter '/pw' (ValidationException: boom); fix "
            "the provider settings",
        ),
        (
            "InternalServerError",
            500,
            RetryableError,
            "AWS call for SSM parameter '/pw' failed (InternalServerError: boom)",
        ),
    ],
)
def test_aws_errors_are_translated(
    aws_env: None, code: str, status: int, expected: type[Exception], message: str
) -> None:
    client = boto3.client("ssm", region_name=REGION)
    with Stubber(client) as stubber:
        stubber.add_client_error(
            "get_parameter",
            service_error_code=code,
            service_message="boom",
            http_status_code=status,
        )
        with pytest.raises(expected) as excinfo:
            SsmPasswordProvider("/pw", "loader", client=client).get()
    assert type(excinfo.value) is expected
    assert str(excinfo.value) == message
    assert isinstance(excinfo.value.__cause__, ClientError)


def test_unreachable_endpoint_is_connection_lost(aws_env: None) -> None:
    with socket.socket() as sock:  # find a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = boto3.client(
        "ssm",
        region_name=REGION,
        endpoint_url=f"http://127.0.0.1:{port}",
        config=Config(retries={"total_max_attempts": 1}, connect_timeout=2),
    )
    with pytest.raises(ConnectionLostError) as excinfo:
        SsmPasswordProvider("/pw", "loader", client=client).get()
    assert str(excinfo.value).startswith(
        "could not reach AWS for SSM parameter '/pw' (EndpointConnectionError: "
    )
    assert excinfo.value.retryable is True


def test_missing_region_is_a_config_error(aws_env: None, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")  # the message says boto3 does not read it
    with pytest.raises(ConfigError) as excinfo:
        SecretsManagerProvider("s").get()
    assert str(excinfo.value) == (
        "no AWS region is configured for Secrets Manager secret 's'; set AWS_DEFAULT_REGION or "
        "a region in your AWS profile (Lambda sets it; boto3 does not read AWS_REGION)"
    )


# --- caching ---------------------------------------------------------------------------------


def test_repeated_get_within_max_age_makes_one_call(ssm: Any) -> None:
    ssm.put_parameter(Name="/pw", Value="v1", Type="SecureString")
    calls = CallCounter(ssm, "GetParameter")
    clock = FakeClock()
    provider = SsmPasswordProvider("/pw", "loader", client=ssm, clock=clock)
    first = provider.get()
    clock.advance(100)
    assert provider.get() is first
    assert provider.get() is first
    assert calls.count == 1


def test_refresh_after_max_age_sees_a_rotated_password(ssm: Any) -> None:
    ssm.put_parameter(Name="/pw", Value="v1", Type="SecureString")
    calls = CallCounter(ssm, "GetParameter")
    clock = FakeClock()
    provider = SsmPasswordProvider("/pw", "loader", client=ssm, clock=clock, max_age=300)
    assert provider.get().password.get_secret_value() == "v1"
    ssm.put_parameter(Name="/pw", Value="v2", Type="SecureString", Overwrite=True)
    clock.advance(299.9)
    assert provider.get().password.get_secret_value() == "v1"
    clock.advance(0.1)
    assert provider.get().password.get_secret_value() == "v2"
    assert calls.count == 2


def test_max_age_default_and_environment(monkeypatch: pytest.MonkeyPatch, ssm: Any) -> None:
    assert SsmPasswordProvider("/pw", "u", client=ssm).max_age == 300
    monkeypatch.setenv(MAX_AGE_ENV, "10")
    ssm.put_parameter(Name="/pw", Value="v1", Type="SecureString")
    calls = CallCounter(ssm, "GetParameter")
    clock = FakeClock()
    provider = SsmPasswordProvider("/pw", "u", client=ssm, clock=clock)
    assert provider.max_age == 10
    provider.get()
    clock.advance(9.5)
    provider.get()
    clock.advance(1)
    provider.get()
    assert calls.count == 2
    # The argument wins over the environment.
    assert SsmPasswordProvider("/pw", "u", client=ssm, max_age=42).max_age == 42


@pytest.mark.parametrize("raw", ["soon", "-1", "nan"])
def test_bad_max_age_environment_is_a_config_error(
    monkeypatch: pytest.MonkeyPatch, raw: str
) -> None:
    monkeypatch.setenv(MAX_AGE_ENV, raw)
    with pytest.raises(ConfigError) as excinfo:
        SsmPasswordProvider("/pw", "u")
    assert str(excinfo.value) == (
        f"S3REDSHIFT_CREDENTIALS_MAX_AGE={raw!r} is not a number of seconds >= 0; set it to 0 "
        "(no caching) or a number of seconds such as 300"
    )


def test_bad_max_age_and_margin_arguments() -> None:
    with pytest.raises(ConfigError) as excinfo:
        SsmPasswordProvider("/pw", "u", max_age=-5)
    assert str(excinfo.value) == (
        "max_age=-5 must be a finite number of seconds >= 0 (0 disables caching)"
    )
    with pytest.raises(ConfigError, match=r"^refresh_margin=-1\.0 must be"):
        SsmPasswordProvider("/pw", "u", refresh_margin=-1.0)


def test_max_age_zero_calls_every_time(ssm: Any) -> None:
    ssm.put_parameter(Name="/pw", Value="v1", Type="SecureString")
    calls = CallCounter(ssm, "GetParameter")
    provider = SsmPasswordProvider("/pw", "loader", client=ssm, max_age=0, clock=FakeClock())
    for _ in range(3):
        assert provider.get().password.get_secret_value() == "v1"
    assert calls.count == 3


def test_failed_fetch_is_not_cached(ssm: Any) -> None:
    calls = CallCounter(ssm, "GetParameter")
    provider = SsmPasswordProvider("/late", "loader", client=ssm, clock=FakeClock())
    with pytest.raises(CredentialsError):
        provider.get()
    ssm.put_parameter(Name="/late", Value="now-here", Type="SecureString")
    assert provider.get().password.get_secret_value() == "now-here"
    assert provider.get().password.get_secret_value() == "now-here"
    assert calls.count == 2


def test_clear_forces_a_new_fetch(ssm: Any) -> None:
    ssm.put_parameter(Name="/pw", Value="v1", Type="SecureString")
    calls = CallCounter(ssm, "GetParameter")
    provider = SsmPasswordProvider("/pw", "loader", client=ssm, clock=FakeClock())
    provider.get()
    provider.clear()
    provider.get()
    provider.get()
    assert calls.count == 2


def test_expiring_credentials_refresh_before_expiry_moto(redshift: Any) -> None:
    """max_age is an hour, but moto's 900-second credentials are refreshed at 840 s."""
    calls = CallCounter(redshift, "GetClusterCredentials")
    clock = FakeClock()  # wall time = now, as moto computes Expiration from now
    provider = ClusterIamProvider(
        "analytics", "dev", db_user="loader", client=redshift, clock=clock, max_age=3600
    )
    first = provider.get()
    clock.advance(839)
    assert provider.get() is first
    assert calls.count == 1
    clock.advance(2)
    second = provider.get()
    assert second is not first
    assert second.password != first.password
    assert calls.count == 2


def test_expiring_credentials_refresh_exactly_at_margin(aws_env: None) -> None:
    clock = FakeClock(wall=datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    client = boto3.client("redshift-serverless", region_name=REGION)
    with Stubber(client) as stubber:
        for password in ("first", "second"):
            stubber.add_response(
                "get_credentials",
                {
                    "dbUser": "IAM:x",
                    "dbPassword": password,
                    "expiration": clock.wall
                    + timedelta(seconds=900 + (password == "second") * 900),
                },
            )
        provider = ServerlessIamProvider(
            "analytics-wg", "dev", client=client, clock=clock, max_age=3600, refresh_margin=120
        )
        assert provider.get().password.get_secret_value() == "first"
        clock.advance(779.5)  # 900 - 120 = 780 s of freshness
        assert provider.get().password.get_secret_value() == "first"
        clock.advance(0.5)
        assert provider.get().password.get_secret_value() == "second"
        stubber.assert_no_pending_responses()
        # The Stubber has nothing left: a further API call would raise.
        assert provider.get().password.get_secret_value() == "second"


def test_concurrent_gets_make_one_call(ssm: Any) -> None:
    ssm.put_parameter(Name="/pw", Value="v1", Type="SecureString")
    hold = threading.Event()
    calls = CallCounter(ssm, "GetParameter", delay=hold)
    provider = SsmPasswordProvider("/pw", "loader", client=ssm, clock=FakeClock())
    barrier = threading.Barrier(8)
    results: list[DbCredentials] = []
    errors: list[BaseException] = []

    def worker() -> None:
        barrier.wait()
        try:
            results.append(provider.get())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert errors == []
    assert len(results) == 8
    assert all(r is results[0] for r in results)
    assert calls.count == 1


# --- secrets never leak --------------------------------------------------------------------


def test_sentinel_password_never_leaks(aws: None, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger=LOGGER)
    ssm = boto3.client("ssm", region_name=REGION)
    sm = boto3.client("secretsmanager", region_name=REGION)
    ssm.put_parameter(Name="/secure", Value=SENTINEL, Type="SecureString")
    ssm.put_parameter(Name="/plain", Value=SENTINEL, Type="String")
    sm.create_secret(Name="good", SecretString=_redshift_secret())
    sm.create_secret(Name="no-user", SecretString=_redshift_secret(username=...))
    sm.create_secret(Name="truncated", SecretString=_redshift_secret()[:-5])
    sm.create_secret(Name="bad-port", SecretString=_redshift_secret(port=SENTINEL))

    texts: list[str] = []
    providers: list[CredentialProvider] = [
        StaticCredentials("loader", SENTINEL),
        SsmPasswordProvider("/secure", "loader", client=ssm),
        SsmPasswordProvider("/plain", "loader", client=ssm),
        SecretsManagerProvider("good", client=sm),
    ]
    for provider in providers:
        creds = provider.get()
        assert creds.password.get_secret_value() == SENTINEL  # the sentinel really flowed
        texts += [str(provider), repr(provider), str(creds), repr(creds), creds.model_dump_json()]

    failing = [
        SecretsManagerProvider(name, client=sm) for name in ("no-user", "truncated", "bad-port")
    ]
    for provider in failing:
        with pytest.raises(CredentialsError) as excinfo:
            provider.get()
        texts += [full_text(excinfo.value), repr(excinfo.value)]

    with pytest.raises(ValidationError) as invalid:
        DbCredentials(user="", password=SecretStr(SENTINEL))
    texts.append(str(invalid.value))
    with pytest.raises(ValidationError) as invalid_raw:
        DbCredentials.model_validate({"user": "", "password": SENTINEL})
    texts.append(str(invalid_raw.value))

    texts += [r.getMessage() for r in caplog.records]
    assert any(r.levelno == logging.WARNING for r in caplog.records)  # the String warning
    assert len(texts) > 20
    leaked = [t for t in texts if SENTINEL in t]
    assert leaked == []


def test_module_exports_what_it_promises() -> None:
    assert sorted(creds_mod.__all__) == sorted(
        [
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
    )
    for name in creds_mod.__all__:
        assert hasattr(creds_mod, name)
