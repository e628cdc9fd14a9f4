"""The episode protocol: which episodes an evaluation plays, and the statistics it reports.

:func:`evaluate_policy` plays a batched policy (the interface of
:class:`dsa_pettingzoo.baselines.base.BatchedPolicy`) on the batched simulator: it runs
``episodes`` episodes in chunks of ``chunk_size`` (memory stays O(chunk_size * N * K)) and
returns an :class:`EpisodeStats` with one row per episode. Episode ``i`` always gets the environment seed
``episode_seeds(seed, episodes)[i]`` (the first seeds do not depend on
``episodes``), so two policies evaluated with the same ``seed`` face the same
SNR matrices and the same PU sequences (PU occupancy is drawn at reset,
independently of the actions). The policies' own randomness comes from a
generator seeded by (seed, first episode of the chunk), so results depend on
``seed`` and ``chunk_size`` only. :data:`EVAL_SEED` is the run seed of the evaluation
episodes every command shares (baselines, trained actors, exported actors).
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, fields

import numpy as np

from .batched import BatchedDSA
from .metrics import jain_index

DEFAULT_CHUNK_SIZE = 256

#: Run seed of the evaluation episodes, shared by every command, row, seed and baseline.
EVAL_SEED = 12345


def episode_seeds(seed: int, episodes: int) -> list[int]:
    """Environment seeds of episodes 0..episodes-1 for a run seed (prefix-stable)."""
    return [int(s) for s in np.random.SeedSequence(int(seed)).generate_state(int(episodes))]


def policy_rng(seed: int, start: int) -> np.random.Generator:
    """The policy's random generator for the chunk of a run whose first episode is ``start``."""
    return np.random.default_rng([int(seed), start, 0x706F6C])


@dataclass
class EpisodeStats:
    """Per-episode statistics; arrays have one row per episode (E episodes, N users)."""

    reward: np.ndarray
    """[E] the paper's unit: sum_t sum_n rate_t^n (= (1/N) sum_t sum_n r_t^n under sum_rate)."""
    throughput: np.ndarray
    """[E, N] each user's summed own rate over the episode."""
    successes: np.ndarray
    """[E, N] ACK counts."""
    collisions: np.ndarray
    """[E, N] NACK counts (two or more users on a PU-free channel)."""
    idle: np.ndarray
    """[E, N] idle slots."""
    pu_blocked: np.ndarray
    """[E, N] transmissions onto a PU-occupied channel."""
    free_channel_slots: np.ndarray
    """[E] number of (channel, slot) pairs not occupied by a PU."""
    num_channels: int
    horizon: int

    @classmethod
    def from_simulator(cls, sim, metrics: dict | None = None) -> "EpisodeStats":
        """Statistics of the episodes ``sim`` (a BatchedDSA) has just played.

        ``metrics``: the simulator's end-of-episode metrics when already at hand
        (``info["episode"]`` of the last step); computed with ``sim.episode_metrics()`` otherwise.
        """
        m = sim.episode_metrics() if metrics is None else metrics
        return cls(
            reward=np.asarray(m["system_throughput"], dtype=np.float64),
            throughput=np.asarray(m["throughput"], dtype=np.float64),
            successes=np.asarray(m["successes"]),
            collisions=np.asarray(m["collisions"]),
            idle=np.asarray(m["idle"]),
            pu_blocked=np.asarray(m["pu_blocked"]),
            free_channel_slots=(~sim.pu_occupancy).sum(axis=(1, 2)).astype(np.int64),
            num_channels=sim.num_channels,
            horizon=sim.horizon,
        )

    @classmethod
    def concatenate(cls, parts: list["EpisodeStats"]) -> "EpisodeStats":
        """Stack the rows of several chunks."""
        kwargs = {}
        for f in fields(cls):
            values = [getattr(p, f.name) for p in parts]
            kwargs[f.name] = (
                np.concatenate(values) if isinstance(values[0], np.ndarray) else values[0]
            )
        return cls(**kwargs)

    def summary(self) -> dict:
        """Means over episodes of the evaluation metrics (plain floats, JSON-ready).

        * mean_reward / std_reward: mean and standard deviation over episodes of ``reward``;
        * collision_rate: collisions / transmission attempts (attempts include PU-blocked ones);
        * idle_rate: idle user-slots / (N T);
        * pu_blocked_rate: PU-blocked attempts / attempts;
        * utilisation: successful channel-slots / (K T) (PU-busy slots stay in the denominator);
        * utilisation_free: successful channel-slots / PU-free channel-slots;
        * jain_fairness: Jain's index (sum x)^2 / (N sum x^2) of the users' episode throughputs
          (1 when every user got nothing), averaged over episodes.
        All ratios are pooled over all episodes except Jain's index.
        """
        E, N = self.throughput.shape
        attempts = self.successes + self.collisions + self.pu_blocked
        total_attempts = max(int(attempts.sum()), 1)
        succ = float(self.successes.sum())
        return {
            "episodes": int(E),
            "mean_reward": float(self.reward.mean()),
            "std_reward": float(self.reward.std(ddof=1)) if E > 1 else 0.0,
            "sem_reward": float(self.reward.std(ddof=1) / np.sqrt(E)) if E > 1 else 0.0,
            "successes_per_slot": succ / (E * self.horizon),
            "collision_rate": float(self.collisions.sum()) / total_attempts,
            "idle_rate": float(self.idle.sum()) / (E * N * self.horizon),
            "pu_blocked_rate": float(self.pu_blocked.sum()) / total_attempts,
            "utilisation": succ / (E * self.num_channels * self.horizon),
            "utilisation_free": succ / max(float(self.free_channel_slots.sum()), 1.0),
            "jain_fairness": float(jain_index(self.throughput).mean()),
        }


def play_episodes(policy, sim, seeds: list[int], rng: np.random.Generator) -> EpisodeStats:
    """Play one episode per seed (B = len(seeds) = sim.num_envs) and return their statistics."""
    B = len(seeds)
    sim.reset(seeds=list(seeds))
    config = sim.config
    T = config.horizon
    policy.reset(config, B, rng)
    info = {}
    for _ in range(T):
        actions = np.asarray(policy.act(sim if policy.privileged else None))
        _, _, _, _, info = sim.step(actions)
        policy.update(actions, info["feedback"], info["rates"])
    # info["episode"]: the simulator's end-of-episode metrics (dsa_pettingzoo.metrics)
    return EpisodeStats.from_simulator(sim, info["episode"])


def evaluate_policy(
    policy,
    episodes: int,
    seed: int = 0,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    progress=None,
    simulator_cls=BatchedDSA,
    **env_kwargs,
) -> EpisodeStats:
    """Run ``episodes`` episodes of ``policy`` on the batched simulator, in chunks.

    ``env_kwargs`` are the environment's keyword arguments (``setup``,
    ``num_users``, ...). ``progress(done, total)`` is called after every chunk.
    """
    for name, value in (("episodes", episodes), ("chunk_size", chunk_size)):
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
            raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    episodes, chunk_size = int(episodes), int(chunk_size)
    seeds = episode_seeds(seed, episodes)
    parts = []
    sims = {}
    for start in range(0, episodes, chunk_size):
        chunk = seeds[start : start + chunk_size]
        if len(chunk) not in sims:
            sims[len(chunk)] = simulator_cls(num_envs=len(chunk), **env_kwargs)
        parts.append(play_episodes(policy, sims[len(chunk)], chunk, policy_rng(seed, start)))
        if progress is not None:
            progress(start + len(chunk), episodes)
    return EpisodeStats.concatenate(parts)


def oracle_ratios(stats: EpisodeStats, oracle: EpisodeStats) -> dict:
    """The oracle's mean reward on the same episodes and the policy's ratio to it (pooled, and
    the mean of the per-episode ratios)."""
    return {
        "oracle_mean_reward": float(oracle.reward.mean()),
        "oracle_ratio": float(stats.reward.mean() / oracle.reward.mean()),
        "oracle_ratio_episode_mean": float(np.mean(stats.reward / oracle.reward)),
    }
