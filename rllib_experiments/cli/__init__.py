"""Command-line entry points: ``train``, ``tune_schedules``, ``reproduce``, ``export``,
``benchmark``, ``plot_runs``. Argument types shared by all of them: :mod:`.args`.

Each is also reachable as ``python -m rllib_experiments.<name>`` (a thin module beside
this package) and, for the main four, as a console script (``dsa-train``, ``dsa-tune``,
``dsa-reproduce``, ``dsa-export``).
"""
