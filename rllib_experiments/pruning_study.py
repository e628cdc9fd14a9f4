"""``python -m rllib_experiments.pruning_study``: see :mod:`rllib_experiments.cli.pruning_study`."""

import sys

from rllib_experiments.cli.pruning_study import main

if __name__ == "__main__":
    sys.exit(main())
