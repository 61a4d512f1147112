"""``python -m s3redshift.cli``: the ``s3redshift`` command."""

import sys

from s3redshift.cli import main

if __name__ == "__main__":
    sys.exit(main())
