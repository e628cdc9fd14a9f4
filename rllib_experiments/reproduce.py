"""``python -m rllib_experiments.reproduce``: see :mod:`rllib_experiments.cli.reproduce`."""

import sys

from rllib_experiments.cli.reproduce import main

if __name__ == "__main__":
    sys.exit(main())
