"""AWS error codes → the project's error classes: one table for every service the loader calls.

S3, STS, SSM, Secrets Manager, Redshift (``GetClusterCredentials``), Redshift
Serverless (``GetCredentials``) and the Data API all answer with an error code.
Each code means one thing wherever it comes from (throttling is throttling,
an expired session token is a token the SDK refreshes), so it is classified
once, here. A code that means something else for one service (a
``ResourceNotFoundException`` is a missing secret for Secrets Manager but a
statement id not yet known for the Data API) is listed under that service.
Each caller adds only its message (what was refused, what to grant); database
error codes (SQLSTATEs, Data API statement texts) stay with the transports.

The rule for a code not listed: a failure of the service or the network is
retryable, since every retry is bounded by the caller's time budget.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from s3redshift.errors import (
    ConfigError,
    ConnectionLostError,
    CredentialsError,
    PermanentError,
    PermissionDeniedError,
    RetryableError,
    S3RedshiftError,
    ThrottledError,
)

__all__ = ["AWS_ERRORS", "SERVICE_ERRORS", "Service", "aws_error_class", "aws_error_code"]

Service = Literal[
    "s3", "sts", "ssm", "secretsmanager", "redshift", "redshift-serverless", "redshift-data"
]

AWS_ERRORS: Mapping[str, type[S3RedshiftError]] = {
    # the caller must slow down
    "Throttling": ThrottledError,
    "ThrottlingException": ThrottledError,
    "ThrottledException": ThrottledError,
    "TooManyRequestsException": ThrottledError,
    "RequestLimitExceeded": ThrottledError,
    "RequestThrottled": ThrottledError,
    "RequestThrottledException": ThrottledError,
    "SlowDown": ThrottledError,
    # the role may not do this: grant it (codes starting "AccessDenied" too)
    "AccessDenied": PermissionDeniedError,
    "AccessDeniedException": PermissionDeniedError,
    "UnauthorizedOperation": PermissionDeniedError,
    "AllAccessDisabled": PermissionDeniedError,
    "DecryptionFailure": PermissionDeniedError,
    # the keys themselves are wrong
    "InvalidAccessKeyId": CredentialsError,
    "SignatureDoesNotMatch": CredentialsError,
    "UnrecognizedClientException": CredentialsError,
    "InvalidClientTokenId": CredentialsError,
    "InvalidSignatureException": CredentialsError,
    # Session credentials (Lambda's role, an assumed role) are refreshed by
    # the SDK: a request that raced their expiry succeeds when tried again.
    "ExpiredToken": RetryableError,
    "ExpiredTokenException": RetryableError,
    "TokenRefreshRequired": RetryableError,
    "RequestExpired": RetryableError,
    # requests AWS refuses the same way every time: retrying only hides them
    "ValidationException": ConfigError,
    "ValidationError": ConfigError,
    "InvalidParameterValue": ConfigError,
    "InvalidParameterValueException": ConfigError,
    "InvalidParameterException": ConfigError,
    "InvalidParameterCombination": ConfigError,
    "InvalidRequestException": ConfigError,
    "UnsupportedOperation": ConfigError,
    "UnsupportedOperationFault": ConfigError,
    # passing trouble on the service's side
    "InternalError": RetryableError,
    "InternalFailure": RetryableError,
    "InternalServerException": RetryableError,
    "InternalServerError": RetryableError,
    "ServiceUnavailable": ThrottledError,
    "ServiceUnavailableException": RetryableError,
    "RequestTimeout": RetryableError,
    "500": RetryableError,
    "503": ThrottledError,
}
"""Codes that mean the same for every service."""

SERVICE_ERRORS: Mapping[Service, Mapping[str, type[S3RedshiftError]]] = {
    "s3": {
        "403": PermissionDeniedError,  # HEAD answers with bare HTTP statuses
        "NoSuchBucket": PermanentError,
        "InvalidBucketName": PermanentError,
        "KeyTooLongError": PermanentError,
        "InvalidObjectState": PermanentError,
    },
    "ssm": {
        "ParameterNotFound": CredentialsError,
        "ParameterVersionNotFound": CredentialsError,
    },
    "secretsmanager": {"ResourceNotFoundException": CredentialsError},
    "redshift": {"ClusterNotFound": CredentialsError, "ClusterNotFoundFault": CredentialsError},
    "redshift-serverless": {"ResourceNotFoundException": CredentialsError},
    "redshift-data": {
        # The request is wrong (a statement's own failure is read from its text).
        "ValidationException": PermanentError,
        "ActiveStatementsExceededException": ThrottledError,
        "ActiveSessionsExceededException": ThrottledError,
        "ActiveWaitingRequestsExceededException": ThrottledError,
        "DatabaseConnectionException": ConnectionLostError,
        "BatchExecuteStatementException": RetryableError,
        "ExecuteStatementException": RetryableError,
        "QueryTimeoutException": RetryableError,
        "ResourceNotFoundException": RetryableError,  # a statement id not yet (or no longer) known
    },
}
"""Codes whose meaning depends on the service that answered."""


def aws_error_class(service: Service, code: str) -> type[S3RedshiftError]:
    """The error class for ``code`` from ``service`` (unknown codes: retryable)."""
    own = SERVICE_ERRORS.get(service, {}).get(code)
    if own is not None:
        return own
    shared = AWS_ERRORS.get(code)
    if shared is not None:
        return shared
    return PermissionDeniedError if code.startswith("AccessDenied") else RetryableError


def aws_error_code(exc: BaseException) -> str:
    """The AWS error code of a botocore ``ClientError``, or ``""``."""
    response = getattr(exc, "response", None)
    if not isinstance(response, Mapping):
        return ""
    return str(response.get("Error", {}).get("Code", ""))
