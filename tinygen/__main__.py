"""``python -m tinygen ...``: the ``tinygen`` command (:func:`tinygen.cli.main`), for when the console script
is not on the PATH."""
import sys

from tinygen.cli import main

if __name__ == "__main__":
    sys.exit(main())
