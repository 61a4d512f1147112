"""Shared fixtures: one embedded stand-in per session, fresh names per test."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlsplit, urlunsplit

import pytest

from s3redshift.identifiers import quote_identifier
from s3redshift.local import EmbeddedEnvironment

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


# moto's server logs every request at INFO; test output should show failures.
logging.getLogger("werkzeug").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def embedded_env() -> Iterator[EmbeddedEnvironment]:
    """The started stand-in (PostgreSQL + moto), shared by the whole session."""
    with EmbeddedEnvironment() as env:
        yield env


@pytest.fixture
def pg_database(embedded_env: EmbeddedEnvironment) -> Iterator[str]:
    """Name of a fresh database on the shared server, dropped after the test."""
    name = f"test_{uuid.uuid4().hex}"
    admin = embedded_env.connect()
    admin.autocommit = True
    try:
        admin.cursor().execute(f"CREATE DATABASE {quote_identifier(name)}")
        yield name
        admin.cursor().execute(f"DROP DATABASE {quote_identifier(name)} WITH (FORCE)")
    finally:
        admin.close()


@pytest.fixture
def pg(embedded_env: EmbeddedEnvironment, pg_database: str) -> Iterator[Any]:
    """A pg8000 DB-API connection to the test's fresh database (`pg_database`)."""
    conn = embedded_env.connect(database=pg_database)
    try:
        yield conn
    finally:
        conn.close()


@pytest.fixture
def bucket(embedded_env: EmbeddedEnvironment) -> str:
    """Name of a fresh, uniquely named S3 bucket on the moto server."""
    name = f"test-{uuid.uuid4().hex}"
    embedded_env.boto3_client("s3").create_bucket(Bucket=name)
    return name


@pytest.fixture
def s3(embedded_env: EmbeddedEnvironment, bucket: str) -> S3Client:
    """A boto3 S3 client of the moto server; the test's fresh bucket is `bucket`."""
    return embedded_env.boto3_client("s3")


def dsn_with_password(dsn: str, password: str) -> str:
    """``dsn`` with ``password`` in its user info, so a test's secret is really sent.

    The embedded server trusts local connections and ignores the password, but
    the loader still reads it from the configuration and hands it to the driver.
    """
    parts = urlsplit(dsn)
    user = parts.username or "postgres"
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{user}:{quote(password, safe='')}@{host}"))
