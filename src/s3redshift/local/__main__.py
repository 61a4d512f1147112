"""``python -m s3redshift.local ARGS``: the ``s3redshift`` command on the local stand-in.

The arguments are those of ``s3redshift``; the configuration names the
stand-in's PostgreSQL as a connector target
(:meth:`~s3redshift.local.EmbeddedEnvironment.connector_config`), and S3 is
whatever ``boto3`` reaches (``AWS_ENDPOINT_URL`` points it at moto).
"""

from __future__ import annotations

import sys

from s3redshift.cli import main
from s3redshift.local import stand_in_loader

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:], make_loader=stand_in_loader))
