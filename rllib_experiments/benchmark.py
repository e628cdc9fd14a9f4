"""``python -m rllib_experiments.benchmark``: see :mod:`rllib_experiments.cli.benchmark`."""

import sys

from rllib_experiments.cli.benchmark import main

if __name__ == "__main__":
    sys.exit(main())
