"""``python -m s3redshift``: the ``s3redshift`` command, for when its script is not on PATH."""

import sys

from s3redshift.cli import main

if __name__ == "__main__":
    sys.exit(main())
