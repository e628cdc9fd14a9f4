"""``python -m rllib_experiments.scale_goal``: see :mod:`rllib_experiments.cli.scale_goal`."""

import sys

from rllib_experiments.cli.scale_goal import main

if __name__ == "__main__":
    sys.exit(main())
