from __future__ import annotations

import pytest

from s3redshift import errors


def _concrete_errors() -> list[type[errors.S3RedshiftError]]:
    found = []
    for name in errors.__all__:
        obj = getattr(errors, name)
        if isinstance(obj, type) and issubclass(obj, errors.S3RedshiftError):
            found.append(obj)
    return found


@pytest.mark.parametrize("cls", _concrete_errors(), ids=lambda c: c.__name__)
def test_every_error_is_exactly_one_of_retryable_or_permanent(
    cls: type[errors.S3RedshiftError],
) -> None:
    if cls in (errors.S3RedshiftError,):
        return
    assert issubclass(cls, errors.RetryableError) != issubclass(cls, errors.PermanentError)
    assert cls.retryable is issubclass(cls, errors.RetryableError)


def test_error_names_object_and_table() -> None:
    err = errors.DataRejectedError(
        "COPY rejected 1 row",
        s3_uri="s3://bucket/kpis/a.csv",
        table="public.kpis",
        details=[errors.LoadErrorDetail("s3://bucket/kpis/a.csv", 3, "id", "bad int")],
    )
    assert str(err) == "COPY rejected 1 row (object s3://bucket/kpis/a.csv, table public.kpis)"
    assert err.bad_files == frozenset({"s3://bucket/kpis/a.csv"})
    assert err.kind == "DataRejectedError"


def test_invalid_event_error_names_path_and_message() -> None:
    err = errors.InvalidEventError("missing key", path="Records[0].s3", message_id="m-1")
    assert err.path == "Records[0].s3"
    assert err.message_id == "m-1"
    assert "Records[0].s3" in str(err)
    assert "m-1" in str(err)


def test_database_error_text_never_carries_a_quoted_secret() -> None:
    from s3redshift.transports.dbapi import translate_error

    sentinel = "SENTINEL-DB-TEXT-44c1"
    driver_error = Exception(
        {
            "C": "XX000",
            "M": f"syntax error near COPY t FROM 's3://b/k' SECRET_ACCESS_KEY '{sentinel}'",
            "D": f"SESSION_TOKEN AS '{sentinel}'",
        }
    )
    error = translate_error(driver_error)
    assert sentinel not in str(error)
    assert "SECRET_ACCESS_KEY '***'" in str(error)
    assert "SESSION_TOKEN AS '***'" in str(error)
    assert errors.scrub_database_text("x" * 5000).endswith(" …")


def test_tracebacks_shown_by_debug_mask_passwords_in_urls_and_statements() -> None:
    from s3redshift.errors import mask_secrets

    text = (
        "Traceback (most recent call last):\n"
        '  File "x.py", line 1, in <module>\n'
        "InterfaceError: cannot connect to postgresql://loader:pa55w0rd@db:5439/dev\n"
        "COPY t FROM 's3://b/k' CREDENTIALS 'aws_access_key_id=A;aws_secret_access_key=S'\n"
    )
    masked = mask_secrets(text)
    assert "pa55w0rd" not in masked
    assert "aws_secret_access_key=S" not in masked
    assert "postgresql://loader:***@db:5439/dev" in masked
    assert "CREDENTIALS '***'" in masked
    assert masked.count("\n") == text.count("\n")  # lines kept, unlike a log message's fold
