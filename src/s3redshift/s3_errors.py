"""S3 errors as project errors: one table of codes, one translation function.

The loader talks to S3 for three things (HeadObject before a load, PutObject
of its manifests and object lists, DeleteObject when it cleans them up), and
each failure must become a typed, per-object or per-target outcome instead of
a raw botocore exception that would stop the whole batch. The rule for codes
not listed: a failure of the service or the network is retryable, since a
retry is bounded by the caller's time budget.
"""

from __future__ import annotations

from collections.abc import Mapping

from s3redshift.errors import (
    ConnectionLostError,
    CredentialsError,
    PermanentError,
    PermissionDeniedError,
    RetryableError,
    S3RedshiftError,
    ThrottledError,
)

__all__ = ["S3_ERRORS", "s3_error_code", "translate_s3_error"]

S3_ERRORS: Mapping[str, type[S3RedshiftError]] = {
    "403": PermissionDeniedError,
    "AccessDenied": PermissionDeniedError,
    "AllAccessDisabled": PermissionDeniedError,
    "InvalidAccessKeyId": CredentialsError,
    "SignatureDoesNotMatch": CredentialsError,
    # Session credentials (Lambda's role, an assumed role) are refreshed by
    # the SDK: a request that raced their expiry succeeds when tried again.
    "ExpiredToken": RetryableError,
    "TokenRefreshRequired": RetryableError,
    "NoSuchBucket": PermanentError,
    "InvalidBucketName": PermanentError,
    "KeyTooLongError": PermanentError,
    "InvalidObjectState": PermanentError,
    "SlowDown": ThrottledError,
    "503": ThrottledError,
    "ServiceUnavailable": ThrottledError,
    "Throttling": ThrottledError,
    "ThrottlingException": ThrottledError,
    "RequestLimitExceeded": ThrottledError,
    "RequestTimeout": RetryableError,
    "InternalError": RetryableError,
    "500": RetryableError,
}
"""S3 error codes (and the bare HTTP statuses HEAD answers with) → error classes."""


def s3_error_code(exc: BaseException) -> str:
    """The S3 error code of a botocore ``ClientError``, or ``""``."""
    response = getattr(exc, "response", None)
    if not isinstance(response, Mapping):
        return ""
    return str(response.get("Error", {}).get("Code", ""))


def translate_s3_error(
    exc: BaseException,
    *,
    action: str,
    permission: str,
    s3_uri: str | None = None,
    table: str | None = None,
) -> S3RedshiftError:
    """The project error for a failed S3 call (already-translated errors pass through).

    ``action`` is the API call (``HeadObject``), ``permission`` the IAM action
    that allows it (``s3:GetObject``): a denied call says which one to grant.
    """
    from botocore.exceptions import (
        BotoCoreError,
        ClientError,
        ConnectionError,
        HTTPClientError,
        NoCredentialsError,
    )

    if isinstance(exc, S3RedshiftError):
        return exc
    if isinstance(exc, ClientError):
        code = s3_error_code(exc) or "unknown"
        cls = S3_ERRORS.get(code, RetryableError)
        if cls is PermissionDeniedError:
            message = f"S3 refused {action} ({code}); allow {permission} to the loader's role"
        elif code == "NoSuchBucket":
            message = f"S3 {action} failed: the bucket does not exist"
        else:
            message = f"S3 {action} failed ({code})"
        return cls(message, s3_uri=s3_uri, table=table)
    if isinstance(exc, NoCredentialsError):
        return CredentialsError(
            f"S3 {action}: no AWS credentials were found", s3_uri=s3_uri, table=table
        )
    if isinstance(exc, ConnectionError | HTTPClientError):
        return ConnectionLostError(
            f"S3 could not be reached for {action} ({type(exc).__name__})",
            s3_uri=s3_uri,
            table=table,
        )
    if isinstance(exc, BotoCoreError):
        return RetryableError(
            f"S3 {action} failed ({type(exc).__name__})", s3_uri=s3_uri, table=table
        )
    return RetryableError(
        f"unexpected {type(exc).__name__} during S3 {action}", s3_uri=s3_uri, table=table
    )
