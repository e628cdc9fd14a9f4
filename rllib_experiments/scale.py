"""``python -m rllib_experiments.scale``: see :mod:`rllib_experiments.cli.scale`."""

import sys

from rllib_experiments.cli.scale import main

if __name__ == "__main__":
    sys.exit(main())
