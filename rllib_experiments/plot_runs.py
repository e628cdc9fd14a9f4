"""``python -m rllib_experiments.plot_runs``: see :mod:`rllib_experiments.cli.plot_runs`."""

import sys

from rllib_experiments.cli.plot_runs import main

if __name__ == "__main__":
    sys.exit(main())
