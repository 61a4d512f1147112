"""S3 errors as project errors: the S3 face of :mod:`s3redshift.aws_errors`.

The loader talks to S3 for three things (HeadObject before a load, PutObject
of its manifests and object lists, DeleteObject when it cleans them up), and
each failure must become a typed, per-object or per-target outcome instead of
a raw botocore exception that would stop the whole batch. The class comes
from :func:`s3redshift.aws_errors.aws_error`, as for every other AWS call;
this module only words what an S3 call was about.
"""

from __future__ import annotations

from s3redshift.aws_errors import AwsCall, aws_error, aws_error_code
from s3redshift.errors import S3RedshiftError

__all__ = ["NO_BUCKET", "s3_call", "s3_error_code", "translate_s3_error"]

NO_BUCKET = "the bucket does not exist: check its name and the Region"
"""The fix for a call naming a bucket that does not exist."""


def s3_error_code(exc: BaseException) -> str:
    """The S3 error code of a botocore ``ClientError``, or ``""``."""
    return aws_error_code(exc)


def s3_call(
    action: str, permission: str, *, s3_uri: str | None = None, table: str | None = None
) -> AwsCall:
    """An S3 API call (``HeadObject``) and the IAM action that allows it (``s3:GetObject``)."""
    return AwsCall(
        "s3",
        f"S3 {action}",
        permission=permission,
        not_found=NO_BUCKET,
        fix="check the bucket and the key",
        s3_uri=s3_uri,
        table=table,
    )


def translate_s3_error(
    exc: BaseException,
    *,
    action: str,
    permission: str,
    s3_uri: str | None = None,
    table: str | None = None,
) -> S3RedshiftError:
    """The project error for a failed S3 call (already-translated errors pass through)."""
    return aws_error(exc, s3_call(action, permission, s3_uri=s3_uri, table=table))
