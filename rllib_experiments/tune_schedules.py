"""``python -m rllib_experiments.tune_schedules``: see :mod:`rllib_experiments.cli.tune_schedules`."""

import sys

from rllib_experiments.cli.tune_schedules import main

if __name__ == "__main__":
    sys.exit(main())
