"""One AWS error code, one meaning, whichever part of the loader met it.

The same code used to be classified in six tables that disagreed: an expired
session token was a permission error at the connector's IAM login and
retryable at the Data API. Each test here drives a real boto3 client (Stubber
answers, nothing leaves the process) or the project's own translation.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from s3redshift.aws_errors import AWS_ERRORS, SERVICE_ERRORS, aws_error_class
from s3redshift.credentials import SsmPasswordProvider
from s3redshift.errors import (
    CredentialsError,
    PermissionDeniedError,
    RetryableError,
    S3RedshiftError,
    ThrottledError,
)
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
