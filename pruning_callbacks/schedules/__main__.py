import sys

from pruning_callbacks.schedules import main

sys.exit(main())
