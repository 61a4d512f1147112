"""AWS errors → the project's error classes: one table, one translation, every call site.

S3, STS, SSM, Secrets Manager, Redshift (``GetClusterCredentials``), Redshift
Serverless (``GetCredentials``), the Data API, EventBridge and SNS (the load
notifications) all answer with an error code.
Each code means one thing wherever it comes from (throttling is throttling,
an expired session token is a token the SDK refreshes), so it is classified
once, here. A code that means something else for one service (a
``ResourceNotFoundException`` is a missing secret for Secrets Manager but a
statement id not yet known for the Data API) is listed under that service.
botocore's own exceptions (no credentials to sign with, an endpoint that
cannot be reached, a read that timed out) are classified here too, in
:data:`BOTOCORE_ERRORS`, by their class.

:func:`aws_error` (and its context manager :func:`translate_aws_errors`) is
the only place a botocore exception becomes a project error: S3 calls, the
credential providers, the Data API transport, backfill listings and
``s3redshift check`` all use it, so one error gets one class on every path.
Each caller says only what the call was about and what to grant; database
error codes (SQLSTATEs, Data API statement texts) stay with the transports.

The rule for an error not listed: a failure of the service or the network is
retryable, since every retry is bounded by the caller's time budget.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

from s3redshift.errors import (
    ConfigError,
    ConnectionLostError,
    CredentialsError,
    DatabaseConnectionError,
    PermanentError,
    PermissionDeniedError,
    RetryableError,
    S3RedshiftError,
    ThrottledError,
    scrub_database_text,
)

__all__ = [
    "AWS_ERRORS",
    "BOTOCORE_ERRORS",
    "SERVICE_ERRORS",
    "AwsCall",
    "Service",
    "aws_error",
    "aws_error_class",
    "aws_error_code",
    "botocore_error_class",
    "translate_aws_errors",
]

Service = Literal[
    "s3",
    "sts",
    "ssm",
    "secretsmanager",
    "redshift",
    "redshift-serverless",
    "redshift-data",
    "events",
    "sns",
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
        "NoSuchBucket": ConfigError,  # a source or manifest bucket that the settings name wrongly
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
        "DatabaseConnectionException": DatabaseConnectionError,
        "BatchExecuteStatementException": RetryableError,
        "ExecuteStatementException": RetryableError,
        "QueryTimeoutException": RetryableError,
        "ResourceNotFoundException": RetryableError,  # a statement id not yet (or no longer) known
    },
    # The load notifications: a bus or topic that is not there, or refuses
    # the message, refuses every message the same way.
    "events": {"ResourceNotFoundException": ConfigError},
    "sns": {
        "NotFound": ConfigError,
        "AuthorizationError": PermissionDeniedError,
        "InvalidParameter": ConfigError,
        "KMSAccessDenied": PermissionDeniedError,
        "KMSDisabled": ConfigError,
        "KMSNotFound": ConfigError,
        "Throttled": ThrottledError,
    },
}
"""Codes whose meaning depends on the service that answered."""


BOTOCORE_ERRORS: Mapping[str, type[S3RedshiftError]] = {
    # nothing was sent: there are no keys (or half of them) to sign the request with
    "NoCredentialsError": CredentialsError,
    "PartialCredentialsError": CredentialsError,
    # requests botocore refuses to send, the same way every time
    "NoRegionError": ConfigError,
    "ParamValidationError": ConfigError,
    # the network: the endpoint could not be reached, or stopped answering
    "EndpointConnectionError": ConnectionLostError,
    "ConnectTimeoutError": ConnectionLostError,
    "ReadTimeoutError": ConnectionLostError,
    "ConnectionClosedError": ConnectionLostError,
    "ConnectionError": ConnectionLostError,  # botocore's base of the connection errors
    "HTTPClientError": ConnectionLostError,  # and of the errors of the HTTP exchange
}
"""botocore's own exceptions (no error code) by class name; a subclass takes its base's entry."""


@dataclass(frozen=True)
class AwsCall:
    """What a call to AWS was about, so that its error names it and says what to do.

    ``subject`` is what the call concerned (``SSM parameter '/pw'``, ``S3
    HeadObject``), ``permission`` the IAM action(s) that allow it,
    ``not_found`` the fix when the resource it names does not exist and
    ``fix`` the fix when AWS (or botocore) refuses the request as invalid.
    """

    service: Service
    subject: str
    permission: str = ""
    not_found: str = ""
    fix: str = "check the settings the request was made from"
    region: str | None = None
    s3_uri: str | None = None
    table: str | None = None


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


def botocore_error_class(exc: BaseException) -> type[S3RedshiftError] | None:
    """The class :data:`BOTOCORE_ERRORS` gives ``exc`` (or its nearest listed base).

    None when ``exc`` is not one of botocore's own exceptions; a botocore
    exception not listed is retryable.
    """
    from botocore.exceptions import BotoCoreError

    if not isinstance(exc, BotoCoreError):
        return None
    for cls in type(exc).__mro__:
        found = BOTOCORE_ERRORS.get(cls.__name__)
        if found is not None:
            return found
    return RetryableError


def _not_found(service: Service, code: str) -> bool:
    """Whether ``code`` is ``service``'s own way of saying a named resource does not exist."""
    if code not in SERVICE_ERRORS.get(service, {}) or code in AWS_ERRORS:
        return False
    return code.startswith("NoSuch") or "NotFound" in code


def _client_message(exc: BaseException, call: AwsCall, cls: type[S3RedshiftError]) -> str:
    """The message of an error AWS answered with a code."""
    code = aws_error_code(exc) or "unknown"
    answer = getattr(exc, "response", {}).get("Error", {})
    text = scrub_database_text(str(answer.get("Message", "")))
    detail = f"{code}: {text}" if text else code
    what = call.subject
    if cls is ThrottledError:
        return f"AWS throttled the request for {what} ({detail}); retry later"
    if cls is PermissionDeniedError:
        return (
            f"AWS denied access to {what} ({detail}); allow {call.permission or 'it'} "
            "for the role the loader runs as"
        )
    if _not_found(call.service, code) and cls is not RetryableError:
        region = f" in region {call.region}" if call.region else ""
        return f"{what} was not found{region} ({code}); {call.not_found or call.fix}"
    if cls is CredentialsError:
        return (
            f"AWS did not accept the loader's own AWS credentials for {what} ({detail}); "
            "renew them, or check AWS_PROFILE and the role the loader runs as"
        )
    if issubclass(cls, PermanentError):
        return f"AWS rejected the request for {what} ({detail}); {call.fix}"
    return f"AWS call for {what} failed ({detail})"


def _botocore_message(exc: BaseException, call: AwsCall, cls: type[S3RedshiftError]) -> str:
    """The message of one of botocore's own exceptions (nothing, or nothing usable, came back).

    Only the connection errors' text is quoted (it names the endpoint); a
    parameter validation report may quote the request, statement text included.
    """
    name = type(exc).__name__
    what = call.subject
    if cls is CredentialsError:
        return (
            f"no AWS credentials found for {what}: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY, or run where an IAM role is attached"
        )
    if name == "NoRegionError":
        return (
            f"no AWS region is configured for {what}; set AWS_DEFAULT_REGION or a region in "
            "your AWS profile (Lambda sets it; boto3 does not read AWS_REGION)"
        )
    if cls is ConfigError:
        return f"the request for {what} was invalid before it was sent ({name}); {call.fix}"
    if cls is ConnectionLostError:
        return (
            f"could not reach AWS for {what} ({name}: {exc}); check network access to the "
            "service endpoint (VPC endpoint or NAT gateway)"
        )
    return f"AWS call for {what} failed ({name})"


def aws_error(exc: BaseException, call: AwsCall) -> S3RedshiftError:
    """The project error for ``exc``, raised by ``call`` (project errors pass through).

    The class comes from the tables alone: :func:`aws_error_class` for an
    answer with an error code, :data:`BOTOCORE_ERRORS` for botocore's own
    exceptions; anything else is unknown, hence retryable.
    """
    if isinstance(exc, S3RedshiftError):
        return exc
    cls = botocore_error_class(exc)
    if isinstance(getattr(exc, "response", None), Mapping):
        cls = aws_error_class(call.service, aws_error_code(exc) or "unknown")
        message = _client_message(exc, call, cls)
    elif cls is not None:
        message = _botocore_message(exc, call, cls)
    else:
        cls = RetryableError
        message = f"unexpected {type(exc).__name__} from the AWS call for {call.subject}"
    return cls(message, s3_uri=call.s3_uri, table=call.table)


@contextmanager
def translate_aws_errors(call: AwsCall) -> Iterator[None]:
    """Raise :func:`aws_error` of any botocore exception in the block, chained with ``from``.

    Other exceptions (the project's own, a bug) pass unchanged.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        yield
    except (ClientError, BotoCoreError) as exc:
        raise aws_error(exc, call) from exc
