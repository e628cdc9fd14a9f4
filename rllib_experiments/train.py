"""``python -m rllib_experiments.train``: see :mod:`rllib_experiments.cli.train`."""

import sys

from rllib_experiments.cli.train import main

if __name__ == "__main__":
    sys.exit(main())
