"""``python -m rllib_experiments.export``: see :mod:`rllib_experiments.cli.export`."""

import sys

from rllib_experiments.cli.export import main

if __name__ == "__main__":
    sys.exit(main())
