"""The experiments behind the multi-player bandit rows of docs/baselines.md, regenerable.

    python -m dsa_pettingzoo study tune       # parameter grids on the tuning seeds
    python -m dsa_pettingzoo study horizon    # reward / oracle for T = 100, 1000, 10000
    python -m dsa_pettingzoo study paper      # the papers' own settings, regret vs T
    python -m dsa_pettingzoo study figure     # Besson and Kaufmann's K = 9, M = 6 figure

Add ``--json`` for the raw numbers. Tuning uses the episode seeds of TUNING_SEEDS, never the
evaluation seed :data:`~dsa_pettingzoo.evaluation.EVAL_SEED`. Every number is a mean over
episodes of :func:`evaluate_policy`, so the same command prints the same digits.
"""

from __future__ import annotations

import numpy as np

from ..batched import BatchedDSA
from ..config import make_config
from ..evaluation import DEFAULT_CHUNK_SIZE, episode_seeds, evaluate_policy, policy_rng
from . import make_policy
from .matching import hungarian

#: Run seeds of the tuning episodes (100 episodes each), never the evaluation seed.
TUNING_SEEDS = (1, 2)
TUNING_EPISODES = 100

#: Settings: the paper's setups and the N = K case the bandit papers assume (N <= K).
SETTINGS = {
    "A": dict(setup="A"),
    "B": dict(setup="B"),
    "A_N5": dict(setup="A", num_users=5),
    "A_N3": dict(setup="A", num_users=3),
}

#: Per policy, the grid of its main parameters: a list of keyword dicts.
GRIDS = {
    "musical_chairs_rss": [dict(explore=e) for e in (1, 2, 3, 5, 10, 20, 30, 50)],
    "mctopm": [dict(index=i) for i in ("klucb", "ucb1")],
    "randtopm": [dict(index=i) for i in ("klucb", "ucb1")],
    "game_of_thrones": [
        dict(explore=e, got=g, exploit=100 - e - g, epsilon=eps)
        for e in (10, 20, 30)
        for g in (30, 50)
        for eps in (0.01, 0.1, 0.3)
    ],
}

#: The new baselines, in the order of the tables.
BANDITS = tuple(GRIDS)
HORIZONS = (100, 1000, 10000)
#: Episodes per horizon: 100 at T = 100, fewer for the long runs (each costs T / 100 more).
HORIZON_EPISODES = {100: 100, 1000: 20, 10000: 5}


def mean_reward(name: str, params: dict, episodes: int, seed: int, env: dict) -> float:
    return float(
        evaluate_policy(make_policy(name, **params), episodes, seed=seed, **env).reward.mean()
    )


def tune(settings=("A", "B", "A_N5", "A_N3")) -> list[dict]:
    """Every grid point's mean reward over the tuning episodes, per setting."""
    rows = []
    for name, grid in GRIDS.items():
        for params in grid:
            row = {"policy": name, "params": params}
            for setting in settings:
                values = [
                    mean_reward(name, params, TUNING_EPISODES, s, SETTINGS[setting])
                    for s in TUNING_SEEDS
                ]
                row[setting] = float(np.mean(values))
            row["A+B"] = (row["A"] + row["B"]) / 2 if "A" in row and "B" in row else None
            rows.append(row)
    return rows


def horizon_study(
    settings=("A", "A_N5"), horizons=HORIZONS, seed: int = TUNING_SEEDS[0]
) -> list[dict]:
    """Reward / oracle on the same episodes for each policy (defaults) and horizon T."""
    rows = []
    for setting in settings:
        for T in horizons:
            env = dict(SETTINGS[setting], horizon=T)
            episodes = HORIZON_EPISODES.get(T, 5)
            oracle = mean_reward("oracle", {}, episodes, seed, env)
            for name in ("aloha", "musical_chairs") + BANDITS:
                reward = mean_reward(name, {}, episodes, seed, env)
                rows.append(
                    {
                        "setting": setting,
                        "horizon": T,
                        "episodes": episodes,
                        "policy": name,
                        "mean_reward": reward,
                        "ratio": reward / oracle,
                    }
                )
    return rows


def fixed_matching_value(env: dict, seeds: list[int]) -> np.ndarray:
    """Per episode, the best fixed assignment's expected sum rate per slot:
    max over matchings of sum (1 - pi_k) log2(1 + beta[n, k]) (the bandit papers' benchmark)."""
    sim = BatchedDSA(len(seeds), **env)
    sim.reset(seeds=seeds)
    weights = (1.0 - sim.config.pu_prob_array) * np.log2(1.0 + sim.beta)
    return np.array([hungarian(w)[1] for w in weights])


def regret(name: str, params: dict, env: dict, episodes: int, seed: int) -> dict:
    """Mean regret against the best fixed assignment, in units of the largest rate (so that
    with equal rates it is the papers' regret of Bernoulli arms), and the reward ratio to it."""
    stats = evaluate_policy(make_policy(name, **params), episodes, seed=seed, **env)
    config = make_config(**env)
    best = fixed_matching_value(env, episode_seeds(seed, episodes)) * config.horizon
    return {
        "policy": name,
        "params": params,
        "horizon": config.horizon,
        "episodes": episodes,
        "regret": float(np.mean(best - stats.reward) / config.max_rate),
        "ratio_to_best_fixed": float(stats.reward.mean() / best.mean()),
    }


#: Besson and Kaufmann's Bernoulli problem: K = 9 arms, means 0.1 .. 0.9, M = 6 players.
#: Equal SNRs make every success worth the same rate, and pi_k = 1 - mu_k makes channel k
#: free (reward 1 after normalisation) with probability mu_k.
BERNOULLI_MEANS = tuple(round(0.1 * k, 1) for k in range(1, 10))
BERNOULLI_ENV = dict(
    num_users=6,
    num_channels=9,
    snr=[[30.0] * 9] * 6,
    pu_prob=[round(1 - m, 1) for m in BERNOULLI_MEANS],
)
#: Game of Thrones' setting: heterogeneous user-channel means, N = K (here N = K = 5, our beta
#: draw, iid PUs with pi = 0.2 to make the rewards random).
HETEROGENEOUS_ENV = dict(num_users=5, num_channels=5, pu_prob=0.2)


def paper_study(horizons=(100, 1000, 10000), seed: int = TUNING_SEEDS[0]) -> list[dict]:
    """Regret against the best fixed assignment in the papers' settings, for each horizon."""
    rows = []
    for label, env in (
        ("bernoulli_K9_M6", BERNOULLI_ENV),
        ("heterogeneous_N5_K5", HETEROGENEOUS_ENV),
    ):
        for T in horizons:
            # the defaults (tuned for T = 100), and musical chairs with T0 growing with T
            runs = [(name, {}) for name in BANDITS] + [("musical_chairs_rss", {"explore": T // 10})]
            for name, params in runs:
                row = regret(name, params, dict(env, horizon=T), HORIZON_EPISODES.get(T, 5), seed)
                rows.append({"setting": label, **row})
    return rows


#: Besson and Kaufmann (ALT 2018), the figure "Cumulated centralized regret, averaged 1000 times",
#: M = 6, K = 9, mu = 0.1 .. 0.9, T = 10000, index kl-UCB: the published plot
#: plots/MP__K9_M6_T10000_N1000__4_algos__all_RegretCentralized_loglog____env1-1_8200873569864822246.png
#: of SMPyBandits (Figure 2 of its MultiPlayers.md, "from my article"). No number is printed on
#: it: these are read off its curves at t = 100, 1000, 10000 (pixel positions on the log-log
#: axes, about +-2%); at T = 10000 they agree with the mean lines of the companion histogram
#: (..._HistogramsRegret_..., 403 and 903).
FIGURE_REFERENCE = {
    "mctopm": {100: 117.0, 1000: 289.0, 10000: 403.0},
    "randtopm": {100: 170.0, 1000: 630.0, 10000: 903.0},
}
FIGURE_HORIZON = 10000
FIGURE_EPISODES = 100


def regret_curve(
    name: str, params: dict, env: dict, episodes: int, seed: int, checkpoints=(100, 1000, 10000)
) -> list[dict]:
    """Mean regret against the best fixed assignment at each checkpoint t of the same runs
    (episodes of horizon env["horizon"], the rollout of :func:`evaluate_policy`: same episode
    seeds, same policy randomness when episodes <= its chunk size), in units of the largest rate."""
    if episodes > DEFAULT_CHUNK_SIZE:
        raise ValueError(f"regret_curve plays one chunk: episodes must be <= {DEFAULT_CHUNK_SIZE}")
    seeds = episode_seeds(seed, episodes)
    sim = BatchedDSA(episodes, **env)
    sim.reset(seeds=seeds)
    config = sim.config
    best = fixed_matching_value(env, seeds) / config.max_rate  # per slot, [E]
    policy = make_policy(name, **params)
    policy.reset(config, episodes, policy_rng(seed, 0))
    earned = np.zeros(episodes)
    rows, marks = [], set(checkpoints)
    for t in range(1, config.horizon + 1):
        actions = np.asarray(policy.act(None))
        _, _, _, _, info = sim.step(actions)
        policy.update(actions, info["feedback"], info["rates"])
        earned += np.asarray(info["rates"], dtype=np.float64).sum(axis=-1) / config.max_rate
        if t in marks:
            r = best * t - earned
            rows.append(
                {
                    "policy": name,
                    "params": params,
                    "t": t,
                    "episodes": episodes,
                    "regret": float(r.mean()),
                    "sem": float(r.std(ddof=1) / np.sqrt(episodes)),
                }
            )
    return rows


def figure_study(episodes: int = FIGURE_EPISODES, seed: int = TUNING_SEEDS[0]) -> list[dict]:
    """Besson and Kaufmann's figure (K = 9 Bernoulli arms 0.1 .. 0.9, M = 6, kl-UCB), ours next
    to the values read off it, at t = 100, 1000, 10000 of the same T = 10000 runs."""
    env = dict(BERNOULLI_ENV, horizon=FIGURE_HORIZON)
    rows = []
    for name in FIGURE_REFERENCE:
        for row in regret_curve(name, {"index": "klucb"}, env, episodes, seed):
            rows.append(
                {
                    "setting": "bernoulli_K9_M6",
                    **row,
                    "paper_figure": FIGURE_REFERENCE[name][row["t"]],
                }
            )
    return rows
