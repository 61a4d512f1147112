"""s3redshift: load S3 objects into Amazon Redshift with COPY, exactly once.

Everything public is importable from here (``from s3redshift import Loader``),
but lazily: importing the package loads none of its modules, so
``import s3redshift.copy`` alone stays light and never pulls in the loader, a
transport or a database driver, and a Lambda cold start pays only for what
it uses.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.2.0"

# Public name -> the module that defines it.
_EXPORTS: dict[str, str] = {
    # events
    "S3Object": "events",
    "ParsedEvent": "events",
    "SkippedRecord": "events",
    "parse_event": "events",
    "read_event": "events",
    # mapping
    "MappingRule": "mapping",
    "TableMapper": "mapping",
    "Target": "mapping",
    "Resolution": "mapping",
    "default_rule": "mapping",
    "TableRef": "identifiers",
    "quote_identifier": "identifiers",
    "quote_literal": "identifiers",
    # COPY builder
    "CopyCommand": "copy",
    "CopyOptions": "copy",
    "Compression": "copy",
    "CsvFormat": "copy",
    "DelimitedFormat": "copy",
    "JsonFormat": "copy",
    "AvroFormat": "copy",
    "ParquetFormat": "copy",
    "OrcFormat": "copy",
    "FixedWidthFormat": "copy",
    "FileFormat": "copy",
    "IamRole": "copy",
    "TemporaryKeys": "copy",
    "resolve_compression": "copy",
    # credentials
    "DbCredentials": "credentials",
    "CredentialProvider": "credentials",
    "StaticCredentials": "credentials",
    "SsmPasswordProvider": "credentials",
    "SecretsManagerProvider": "credentials",
    "ClusterIamProvider": "credentials",
    "ServerlessIamProvider": "credentials",
    # configuration, loading, reports
    "LoaderConfig": "config",
    "Loader": "loader",
    "LoadReport": "report",
    "ObjectResult": "report",
    "TargetResult": "report",
    # errors
    "S3RedshiftError": "errors",
    "RetryableError": "errors",
    "PermanentError": "errors",
    "InvalidEventError": "errors",
    "MappingError": "errors",
    "UnsafeIdentifierError": "errors",
    "CopyOptionsError": "errors",
    "ConfigError": "errors",
    "CredentialsError": "errors",
    "DataRejectedError": "errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 's3redshift' has no attribute {name!r}")
    value = getattr(importlib.import_module(f"s3redshift.{module}"), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*__all__, "__version__"])


if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from s3redshift.config import LoaderConfig
    from s3redshift.copy import (
        AvroFormat,
        Compression,
        CopyCommand,
        CopyOptions,
        CsvFormat,
        DelimitedFormat,
        FileFormat,
        FixedWidthFormat,
        IamRole,
        JsonFormat,
        OrcFormat,
        ParquetFormat,
        TemporaryKeys,
        resolve_compression,
    )
    from s3redshift.credentials import (
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
        CopyOptionsError,
        CredentialsError,
        DataRejectedError,
        InvalidEventError,
        MappingError,
        PermanentError,
        RetryableError,
        S3RedshiftError,
        UnsafeIdentifierError,
    )
    from s3redshift.events import ParsedEvent, S3Object, SkippedRecord, parse_event, read_event
    from s3redshift.identifiers import TableRef, quote_identifier, quote_literal
    from s3redshift.loader import Loader
    from s3redshift.mapping import MappingRule, Resolution, TableMapper, Target, default_rule
    from s3redshift.report import LoadReport, ObjectResult, TargetResult
