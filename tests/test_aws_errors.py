"""One AWS error code, one meaning, whichever part of the loader met it.

The same code used to be classified in six tables that disagreed: an expired
session token was a permission error at the connector's IAM login and
retryable at the Data API. Each test here drives a real boto3 client (Stubber
answers, nothing leaves the process) or the project's own translation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import boto3
import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import (
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)
from botocore.stub import Stubber

from answered_data_api import AnsweredDataApi, answered_client
from s3redshift import errors
from s3redshift.aws_errors import AWS_ERRORS, SERVICE_ERRORS, aws_error_class
from s3redshift.check import run_checks
from s3redshift.config import LoaderConfig
from s3redshift.credentials import SsmPasswordProvider
from s3redshift.errors import (
    ConnectionLostError,
    CredentialsError,
    PermissionDeniedError,
    RetryableError,
    S3RedshiftError,
    ThrottledError,
)
from s3redshift.events import S3Object
from s3redshift.listing import list_prefix
from s3redshift.loader import Loader
from s3redshift.manifest import ManifestWriter
from s3redshift.s3_errors import translate_s3_error
from s3redshift.transports.connector import _aws_error
from s3redshift.transports.data_api import DataApiTransport


def client_error(code: str, operation: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "from the test"}}, operation)


def ssm_failure(code: str) -> S3RedshiftError:
    ssm = boto3.client(
        "ssm", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    with Stubber(ssm) as stubber:
        stubber.add_client_error("get_parameter", service_error_code=code)
        provider = SsmPasswordProvider("/loader/password", "loader", client=ssm)
        with pytest.raises(S3RedshiftError) as caught:
            provider.get()
    return caught.value


def data_api_failure(code: str) -> S3RedshiftError:
    client = boto3.client(
        "redshift-data",
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    with Stubber(client) as stubber:
        stubber.add_client_error("execute_statement", service_error_code=code)
        transport = DataApiTransport(database="dev", workgroup="wg-1", client=client)
        with pytest.raises(S3RedshiftError) as caught:
            transport.execute("SELECT 1")
    return caught.value


def everywhere(code: str) -> dict[str, Any]:
    """The class each part of the loader gives ``code``."""
    return {
        "s3": type(
            translate_s3_error(
                client_error(code, "HeadObject"), action="HeadObject", permission="s3:GetObject"
            )
        ),
        "ssm": type(ssm_failure(code)),
        "data-api": type(data_api_failure(code)),
        "iam-login": type(_aws_error(client_error(code, "GetClusterCredentials"))),
    }


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ExpiredToken", RetryableError),
        ("ExpiredTokenException", RetryableError),
        ("ThrottlingException", ThrottledError),
        ("AccessDeniedException", PermissionDeniedError),
        ("UnrecognizedClientException", CredentialsError),
        ("SomethingNobodyDocumented", RetryableError),
    ],
)
def test_a_code_means_the_same_at_every_call_site(code: str, expected: type) -> None:
    assert set(everywhere(code).values()) == {expected}


def test_service_specific_codes_override_the_shared_meaning_only_for_their_service() -> None:
    # A missing secret is a configuration problem; a statement id not yet known is not.
    assert aws_error_class("secretsmanager", "ResourceNotFoundException") is CredentialsError
    assert aws_error_class("redshift-data", "ResourceNotFoundException") is RetryableError
    assert aws_error_class("ssm", "AccessDeniedForReasonsOfItsOwn") is PermissionDeniedError
    for service, codes in SERVICE_ERRORS.items():
        for code, cls in codes.items():
            assert aws_error_class(service, code) is cls
    for code, cls in AWS_ERRORS.items():
        assert aws_error_class("sts", code) is cls


# --- one error, one class, on every path ------------------------------------------------


Failure = Callable[[], Exception] | tuple[str, int]
"""An AWS answer with an error code and HTTP status, or a botocore exception to raise."""

FAILURES: list[tuple[str, Failure, type[S3RedshiftError]]] = [
    ("InvalidAccessKeyId", ("InvalidAccessKeyId", 403), CredentialsError),
    ("AccessDenied", ("AccessDenied", 403), PermissionDeniedError),
    ("SlowDown", ("SlowDown", 503), ThrottledError),
    ("ThrottlingException", ("ThrottlingException", 400), ThrottledError),
    ("ExpiredToken", ("ExpiredToken", 400), RetryableError),
    ("InternalError", ("InternalError", 500), RetryableError),
    (
        "EndpointConnectionError",
        lambda: EndpointConnectionError(endpoint_url="https://127.0.0.1:9"),
        ConnectionLostError,
    ),
    ("NoCredentialsError", NoCredentialsError, CredentialsError),
    (
        "ReadTimeoutError",
        lambda: ReadTimeoutError(endpoint_url="https://127.0.0.1:9"),
        ConnectionLostError,
    ),
]


def failing(service: str, failure: Failure) -> Any:
    """A real boto3 client (fake keys) every call of which fails with ``failure``.

    The answer is given from botocore's ``before-call`` event, the seam its
    Stubber uses: an error code goes through botocore's own raising of a
    ``ClientError`` (the service's modeled exception class); a botocore
    exception is raised where the HTTP layer would raise it. It proves what
    each path makes of an error, not when AWS sends one.
    """
    client = boto3.client(
        service,  # type: ignore[call-overload]
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )

    def answer(model: Any, **_: Any) -> tuple[AWSResponse, dict[str, Any]]:
        if callable(failure):
            raise failure()
        code, status = failure
        parsed = {
            "Error": {"Code": code, "Message": "from the test"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        }
        return AWSResponse("https://127.0.0.1", status, {}, None), parsed

    client.meta.events.register_first(f"before-call.{service}", answer)
    return client


def data_api_loader(s3: Any, *, manifest_bucket: str = "") -> Loader:
    """A loader on the answered Data API (every statement finishes) and the S3 client ``s3``."""
    config = LoaderConfig.from_mapping(
        {
            "target": {"kind": "redshift", "transport": "data-api", "workgroup": "wg-1"},
            "copy": {"iam_role": "arn:aws:iam::123456789012:role/RedshiftCopy"}
            | ({"manifest_bucket": manifest_bucket} if manifest_bucket else {}),
            "tables": [{"pattern": "{table}/**", "format": {"type": "csv"}}],
        }
    )
    transport = DataApiTransport(
        database="dev", workgroup="wg-1", client=answered_client(AnsweredDataApi())
    )
    return Loader(config, transport=transport, s3_client=s3)


def raised(call: Callable[[], object]) -> type[S3RedshiftError]:
    with pytest.raises(S3RedshiftError) as caught:
        call()
    return type(caught.value)


def via_load(failure: Failure) -> type[S3RedshiftError]:
    """HeadObject before a load (the Lambda handler's and ``s3redshift load``'s path)."""
    s3_object = S3Object(bucket="source", key="kpis/a.csv", size=4, etag="e")
    with data_api_loader(failing("s3", failure)) as loader:
        [result] = loader.load([s3_object]).objects
    assert result.outcome == "failed", result
    assert result.error is not None
    return type(result.error)


def via_manifest(failure: Failure) -> type[S3RedshiftError]:
    """PutObject of a manifest."""
    writer = ManifestWriter(failing("s3", failure))
    return raised(lambda: writer.put("manifests", "m.json", "{}", "application/json"))


def via_backfill(failure: Failure) -> type[S3RedshiftError]:
    """Listing a prefix (``s3redshift backfill``, ``load s3://...`` and the sweep)."""
    s3 = failing("s3", failure)
    return raised(lambda: list(list_prefix(s3, "source", "kpis/")))


def via_check(failure: Failure) -> type[S3RedshiftError]:
    """``s3redshift check``: listing the source and writing the probe, by the error's class."""
    with data_api_loader(failing("s3", failure), manifest_bucket="manifests") as loader:
        checks = run_checks(loader, ["s3://source/kpis/"], where="workgroup wg-1")
    kinds = {c.name: c.error for c in checks if c.status == "failed" and " s3://" in c.name}
    assert set(kinds) == {
        "list s3://source/kpis/",
        "manifest prefix s3://manifests/_s3redshift/manifests/",
    }
    [kind] = set(kinds.values())
    return cast("type[S3RedshiftError]", getattr(errors, kind))


def via_credentials(failure: Failure) -> type[S3RedshiftError]:
    """An SSM password provider (Secrets Manager and the IAM providers share its code)."""
    provider = SsmPasswordProvider("/loader/password", "loader", client=failing("ssm", failure))
    return raised(provider.get)


def via_data_api(failure: Failure) -> type[S3RedshiftError]:
    """The Data API transport's ExecuteStatement."""
    transport = DataApiTransport(
        database="dev", workgroup="wg-1", client=failing("redshift-data", failure)
    )
    return raised(lambda: transport.execute("SELECT 1"))


PATHS = {
    "load": via_load,
    "manifest": via_manifest,
    "backfill": via_backfill,
    "check": via_check,
    "credentials": via_credentials,
    "data-api": via_data_api,
}


@pytest.mark.parametrize(
    ("failure", "expected"), [f[1:] for f in FAILURES], ids=[f[0] for f in FAILURES]
)
def test_one_botocore_error_is_one_class_on_every_path(
    failure: Failure, expected: type[S3RedshiftError]
) -> None:
    found = {path: via(failure) for path, via in PATHS.items()}
    assert found == dict.fromkeys(PATHS, expected)
