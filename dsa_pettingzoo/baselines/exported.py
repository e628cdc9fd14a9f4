"""Exported actors as a batched baseline: ``dsa-evaluate --policy exported:DIR``.

:class:`ExportedPolicy` follows :class:`~dsa_pettingzoo.baselines.base.BatchedPolicy`
and runs the actors with the numpy runtime :mod:`dsa_pettingzoo.deploy` (which never imports
the baselines). It is a decentralized policy (never handed the simulator). Each user's actor
acts on its own observation y_t^n = [a_{t-1}^n, o_{t-1}^n] (eq. 2), rebuilt as the environment
would hand it (:class:`~dsa_pettingzoo.baselines.base.ObservationPolicy`), and runs B copies of
its recurrent state (one per episode of the batch).
"""

from __future__ import annotations

from dataclasses import asdict

import numpy as np

from ..config import ConfigError, make_config
from ..deploy.policy import load_actors
from .base import ObservationPolicy

#: ``make_policy(EXPORTED_PREFIX + DIR)`` / ``dsa-evaluate --policy exported:DIR``: the actors in DIR.
EXPORTED_PREFIX = "exported:"


class ExportedPolicy(ObservationPolicy):
    """The N users' exported actors, greedy (argmax) or sampled from their softmax."""

    name = "exported"

    def __init__(self, directory, greedy: bool = True, compute: str = "auto"):
        if not isinstance(greedy, bool):
            raise ValueError(f"greedy must be true or false, got {greedy!r}")
        self.directory = str(directory)
        self.greedy = greedy
        self.actors = load_actors(directory, compute=compute)  # checks every file now

    def check_config(self, config) -> None:
        """:class:`~dsa_pettingzoo.ConfigError` unless the actors fit the env's N, K and observation.

        The error's ``argument`` is the environment setting at fault (``num_users``,
        ``num_channels`` or ``observation``) and its message the value the actors were
        trained with.
        """
        first = self.actors[0]
        for key, trained, env in (
            ("num_users", len(self.actors), config.num_users),
            ("num_channels", first.num_actions - 1, config.num_channels),
        ):
            if trained != env:
                raise ConfigError(
                    key,
                    f"the exported actors in {self.directory} were trained "
                    f"with {key}={trained}, the environment has {key}={env}",
                )
        for actor in self.actors:
            try:
                actor.check_env(config.num_channels, config.observation, config.num_users)
            except ValueError as err:
                trained = (actor.header.get("observation") or {}).get("encoding")
                said = f" (trained with observation={trained!r})" if trained else ""
                raise ConfigError("observation", f"{err}{said}") from None

    def training_differences(self, config) -> list[str]:
        """How the environment ``config`` differs from the one the actors were trained in
        (recorded in their files at export): one line per setting, e.g. ``"horizon: trained
        20, evaluated 100"``. Empty when they agree or the files record no environment.
        N, K and the observation must agree (:meth:`check_config`); the others (setup,
        horizon, primary users, reward, SNRs) may legitimately differ, e.g. to test
        transfer, but are then worth saying."""
        recorded = self.actors[0].header.get("env")
        if not recorded:
            return []
        try:
            trained = asdict(make_config(**recorded))
        except (ConfigError, TypeError) as err:
            return [f"the actors' recorded environment {recorded!r} cannot be read ({err})"]
        now = asdict(config)
        return [
            f"{key}: trained {trained[key]!r}, evaluated {now[key]!r}"
            for key in trained
            if key != "render_mode" and repr(trained[key]) != repr(now.get(key))
        ]

    def _reset(self) -> None:
        self.check_config(self.config)
        for actor in self.actors:
            actor.reset(self.num_envs)
        super()._reset()

    def act(self, sim=None) -> np.ndarray:
        actions = np.empty(self.shape, dtype=np.int64)
        for n, actor in enumerate(self.actors):
            actions[:, n] = actor.act(self._obs[:, n], rng=self.rng, greedy=self.greedy)
        return actions
