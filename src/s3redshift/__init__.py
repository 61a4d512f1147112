"""s3redshift: load S3 objects into Amazon Redshift with COPY, exactly once.

The package is layered so that each piece can be used alone: ``events``,
``mapping``, ``copy`` and ``credentials`` never import the loader, a transport
or a database driver.
"""

from __future__ import annotations

__version__ = "0.1.0"
