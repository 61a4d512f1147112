"""S3 errors as project errors: one translation function, naming what to grant.

The loader talks to S3 for three things (HeadObject before a load, PutObject
of its manifests and object lists, DeleteObject when it cleans them up), and
each failure must become a typed, per-object or per-target outcome instead of
a raw botocore exception that would stop the whole batch. The codes are
classified in :mod:`s3redshift.aws_errors`, with every other AWS service's.
"""

from __future__ import annotations

from s3redshift.aws_errors import aws_error_class, aws_error_code
from s3redshift.errors import (
    ConfigError,
    ConnectionLostError,
    CredentialsError,
    PermanentError,
    PermissionDeniedError,
    RetryableError,
    S3RedshiftError,
)

__all__ = ["s3_error_code", "translate_s3_error"]


def s3_error_code(exc: BaseException) -> str:
    """The S3 error code of a botocore ``ClientError``, or ``""``."""
    return aws_error_code(exc)


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
        cls = aws_error_class("s3", code)
        if cls is ConfigError:  # a request S3 calls invalid fails the file, not the setup
            cls = PermanentError
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
