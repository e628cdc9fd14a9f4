"""Glue to training frameworks other than RLlib, one module per framework.

Each module needs its framework, from an optional extra, and imports it: nothing else in
``dsa_pettingzoo`` imports this subpackage, so the environment itself stays free of torch
(tests/test_layers.py checks both).

* :mod:`dsa_pettingzoo.integrations.sb3`: Stable-Baselines3 through SuperSuit
  (``pip install "dsa-pettingzoo[sb3]"``);
* :mod:`dsa_pettingzoo.integrations.benchmarl`: a BenchMARL task on TorchRL's
  ``PettingZooWrapper`` (``pip install "dsa-pettingzoo[benchmarl]"``).

docs/frameworks.md has a runnable example of each.
"""
