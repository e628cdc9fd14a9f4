"""The one place for IAGC-PPO experiment settings, and the RLlib config built from them.

Usage::

    from rllib_experiments.config import load_preset, build_algo_config
    settings = load_preset("paper_A", seed=3)          # presets/paper_A.json + overrides
    algo = build_algo_config(settings).build_algo()
    for i in range(settings.iterations):
        result = algo.train()

Presets are JSON files in ``rllib_experiments/presets/`` (``paper_A``, ``paper_B``: the
paper's values; ``tiny``: CI-sized); every key is a :class:`Settings` field.
Module ids: ``user_0`` ... ``user_{N-1}`` (one actor each) and
:data:`~rllib_experiments.modules.CRITIC_ID` (the shared critic, learner only).
"""

from __future__ import annotations

import dataclasses
import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

PRESET_DIR = Path(__file__).parent / "presets"
SCHEDULES = ("none", "linear", "polynomial", "harmonic")


@dataclass
class Settings:
    """Every hyperparameter of one IAGC-PPO experiment (paper values as defaults)."""

    # --- environment -----------------------------------------------------------
    setup: str = "A"
    """Paper system setup: "A" (no primary users) or "B" (PUs with pi_k = 0.2)."""
    env: Dict[str, Any] = field(default_factory=dict)
    """Extra keyword arguments of dsa_pettingzoo.parallel_env (override the setup preset)."""
    # --- networks (IV-A) -------------------------------------------------------
    hidden_sizes: Tuple[int, ...] = (128, 128)
    """Dense ReLU layers before the LSTM, actor and critic (paper: two of 128)."""
    lstm_size: int = 128
    """LSTM units, actor and critic (paper: 128)."""
    lstm_layers: int = 1
    """Stacked LSTM layers (1 in our reading of IV-A)."""
    critic_mode: str = "paper"
    """"paper": shared critic on each user's own history (eq. 9); "centralized": on all users' observations."""
    # --- PPO (III-c, IV-A) -----------------------------------------------------
    actor_lr: float = 1e-4
    """Adam learning rate alpha_n of every actor."""
    critic_lr: float = 5e-5
    """Adam learning rate alpha_c of the shared critic."""
    gamma: float = 0.99
    """Discount factor."""
    gae_lambda: float = 0.95
    """GAE lambda (not given in the paper)."""
    clip_eps: float = 0.2
    """PPO clip parameter epsilon (eq. 6)."""
    entropy_coeff: float = 0.0
    """Entropy bonus of the actor loss (0: the paper's pure clip objective)."""
    grad_clip: Optional[float] = None
    """Global-norm gradient clipping per module (None: off, as in the paper)."""
    num_epochs: int = 4
    """PPO passes over each iteration's episodes (not given in the paper)."""
    minibatch_episodes: Optional[int] = None
    """Episodes per gradient step (None: all episodes of the iteration)."""
    normalize_rewards: bool = True
    """Divide rewards by the running std of discounted returns (III-b)."""
    standardize_advantages: bool = True
    """Standardise each user's advantages per batch."""
    # --- budget and sampling -----------------------------------------------------
    iterations: int = 1000
    """Training iterations I_T (pruning schedules run over these)."""
    episodes_per_iteration: int = 1
    """Whole episodes sampled per iteration (the paper: 1)."""
    num_env_runners: int = 0
    """Remote env runner processes (0: sample in the driver)."""
    num_envs_per_env_runner: Optional[int] = None
    """Vectorised envs per env runner (None: episodes_per_iteration / max(1, num_env_runners))."""
    seed: int = 0
    """Seed of torch, numpy and the environments."""
    fast_sampling: bool = True
    """Sample on the batched simulator (BatchedDSAEnvRunner) instead of RLlib's per-step runner."""
    # --- pruning (III-d), wired through pruning_callbacks --------------------------
    schedule: str = "none"
    """Sparsity schedule: "none" (dense), "linear", "polynomial" (cubic) or "harmonic"."""
    final_sparsity: Union[float, Sequence[float]] = 0.95
    """p_final, one value or one per user."""
    initial_sparsity: Union[float, Sequence[float]] = 0.0
    """p_0 of the harmonic schedule, one value or one per user."""
    prune_start: int = 0
    """i_start: first pruning iteration."""
    prune_end: Optional[int] = None
    """i_P: iteration where the schedule reaches p_final (None: iterations)."""
    prune_interval: int = 5
    """i_prune: iterations between pruning events in "regrow" mode (Remark 2; paper: 5)."""
    harmonic_amplitude: float = 0.1
    """A of the harmonic oscillation c_i = A sin(2 pi i / P), eq. (13) (paper: 0.1)."""
    harmonic_period: float = 200.0
    """P of eq. (13) in iterations (paper: 200 one-episode iterations)."""
    prune_mode: str = "regrow"
    """"regrow" (prune every prune_interval iterations, weights train freely between; the paper) or "hold" (masks held every step)."""
    # --- evaluation (IV-C) -------------------------------------------------------
    eval_interval: int = 10
    """Evaluate every this many iterations."""
    eval_episodes: int = 100
    """Episodes per evaluation."""

    # ------------------------------------------------------------------ helpers
    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON-able dict of every field."""
        d = dataclasses.asdict(self)
        d["hidden_sizes"] = list(self.hidden_sizes)
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Settings":
        """Settings from a dict; unknown keys raise ValueError naming them."""
        names = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - names)
        if unknown:
            raise ValueError(f"unknown setting(s) {unknown}; allowed: {sorted(names)}")
        d = dict(d)
        if "hidden_sizes" in d and d["hidden_sizes"] is not None:
            d["hidden_sizes"] = tuple(d["hidden_sizes"])
        return cls(**d)

    def replace(self, **overrides) -> "Settings":
        """A copy with some fields changed (validated)."""
        return Settings.from_dict({**self.to_dict(), **overrides}).validate()

    @property
    def envs_per_runner(self) -> int:
        """Vectorised envs per env runner actually used."""
        if self.num_envs_per_env_runner is not None:
            return self.num_envs_per_env_runner
        return max(1, self.episodes_per_iteration // max(1, self.num_env_runners))

    def env_kwargs(self) -> Dict[str, Any]:
        """Keyword arguments of dsa_pettingzoo.parallel_env / BatchedDSA."""
        return {"setup": self.setup, **self.env}

    def validate(self) -> "Settings":
        """Check every field; raise ValueError naming the bad setting and what is allowed."""
        def pos_int(name, minimum=1, allow_none=False):
            v = getattr(self, name)
            if v is None and allow_none:
                return
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum:
                raise ValueError(f"setting {name} must be an integer >= {minimum}"
                                 f"{' or None' if allow_none else ''}, got {v!r}")

        def real(name, low, high, low_open=False, allow_none=False):
            v = getattr(self, name)
            if v is None and allow_none:
                return
            ok = isinstance(v, numbers.Real) and not isinstance(v, bool)
            ok = ok and (low < v if low_open else low <= v) and v <= high
            if not ok:
                bracket = "(" if low_open else "["
                raise ValueError(f"setting {name} must be a number in {bracket}{low}, {high}], got {v!r}")

        if self.setup not in ("A", "B"):
            raise ValueError(f"setting setup must be 'A' or 'B', got {self.setup!r}")
        if not isinstance(self.env, dict):
            raise ValueError(f"setting env must be a dict of environment kwargs, got {self.env!r}")
        if self.critic_mode not in ("paper", "centralized"):
            raise ValueError(f"setting critic_mode must be 'paper' or 'centralized', got {self.critic_mode!r}")
        if not isinstance(self.hidden_sizes, (tuple, list)) or any(
                isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1
                for h in self.hidden_sizes):
            raise ValueError(f"setting hidden_sizes must be a list of positive integers, got {self.hidden_sizes!r}")
        for name in ("lstm_size", "lstm_layers", "num_epochs", "iterations",
                     "episodes_per_iteration", "prune_interval", "eval_interval", "eval_episodes"):
            pos_int(name)
        pos_int("num_env_runners", minimum=0)
        pos_int("seed", minimum=0)
        pos_int("prune_start", minimum=0)
        pos_int("minibatch_episodes", allow_none=True)
        pos_int("num_envs_per_env_runner", allow_none=True)
        pos_int("prune_end", minimum=1, allow_none=True)
        real("actor_lr", 0, 1, low_open=True)
        real("critic_lr", 0, 1, low_open=True)
        real("gamma", 0, 1)
        real("gae_lambda", 0, 1)
        real("clip_eps", 0, 1, low_open=True)
        real("entropy_coeff", 0, 1)
        real("grad_clip", 0, float("inf"), low_open=True, allow_none=True)
        for name in ("normalize_rewards", "standardize_advantages", "fast_sampling"):
            if not isinstance(getattr(self, name), bool):
                raise ValueError(f"setting {name} must be true or false, got {getattr(self, name)!r}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"setting schedule must be one of {SCHEDULES}, got {self.schedule!r}")
        for name in ("final_sparsity", "initial_sparsity"):
            v = getattr(self, name)
            values = v if isinstance(v, (list, tuple)) else [v]
            if not values or any(isinstance(x, bool) or not isinstance(x, numbers.Real)
                                 or not 0 <= x < 1 for x in values):
                raise ValueError(f"setting {name} must be a number in [0, 1) or a list of them "
                                 f"(one per user), got {v!r}")
        real("harmonic_amplitude", 0, 1)
        real("harmonic_period", 0, float("inf"), low_open=True)
        if self.prune_mode not in ("hold", "regrow"):
            raise ValueError(f"setting prune_mode must be 'hold' or 'regrow', got {self.prune_mode!r}")
        end = self.prune_end if self.prune_end is not None else self.iterations
        if self.schedule != "none" and end <= self.prune_start:
            raise ValueError(f"setting prune_end ({end}) must be greater than prune_start "
                             f"({self.prune_start})")
        runners = max(1, self.num_env_runners)
        per_call = self.envs_per_runner * runners
        if self.episodes_per_iteration % per_call:
            raise ValueError(
                f"setting episodes_per_iteration ({self.episodes_per_iteration}) must be a multiple "
                f"of num_envs_per_env_runner x max(1, num_env_runners) = {per_call}: every env "
                "runner samples whole batches of its vectorised episodes"
            )
        if self.minibatch_episodes is not None and self.minibatch_episodes > self.episodes_per_iteration:
            raise ValueError(f"setting minibatch_episodes ({self.minibatch_episodes}) must be at most "
                             f"episodes_per_iteration ({self.episodes_per_iteration})")
        return self


def preset_names() -> list:
    """Names of the JSON presets shipped in rllib_experiments/presets/."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.json"))


def load_preset(name_or_path: str, **overrides) -> Settings:
    """Settings from a named preset (or a JSON file path), with field overrides."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PRESET_DIR / f"{name_or_path}.json"
    if not path.is_file():
        raise ValueError(f"unknown preset {name_or_path!r}; available: {preset_names()} "
                         "or a path to a JSON file")
    with open(path) as f:
        d = json.load(f)
    d.pop("_comment", None)
    d.update(overrides)
    return Settings.from_dict(d).validate()


def probe_env(settings: Settings) -> Dict[str, Any]:
    """Agent ids, spaces and horizon of the configured environment (validates env kwargs)."""
    from rllib_experiments.envs import make_parallel_env

    env = make_parallel_env(settings.env_kwargs())
    try:
        agents = list(env.possible_agents)
        obs_space = env.observation_space(agents[0])
        act_space = env.action_space(agents[0])
        cfg = getattr(env, "config", None) or getattr(getattr(env, "unwrapped", None), "config", None)
        horizon = int(cfg.horizon) if cfg is not None else int(settings.env.get("horizon", 100))
    finally:
        env.close()
    return dict(agents=agents, obs_space=obs_space, act_space=act_space, horizon=horizon)


def module_specs(settings: Settings, agents, obs_space, act_space):
    """MultiRLModuleSpec: one IAGCActor per user and the learner-only SharedCritic."""
    import numpy as np
    from ray.rllib.core.rl_module.multi_rl_module import MultiRLModuleSpec
    from ray.rllib.core.rl_module.rl_module import RLModuleSpec

    from rllib_experiments.modules import CRITIC_ID, IAGCActor, SharedCritic

    net = dict(hidden_sizes=list(settings.hidden_sizes), lstm_size=settings.lstm_size,
               lstm_layers=settings.lstm_layers)
    specs = {
        aid: RLModuleSpec(module_class=IAGCActor, observation_space=obs_space,
                          action_space=act_space, model_config=dict(net))
        for aid in agents
    }
    specs[CRITIC_ID] = RLModuleSpec(
        module_class=SharedCritic, observation_space=obs_space, action_space=act_space,
        learner_only=True,
        model_config=dict(net, critic_mode=settings.critic_mode, num_users=len(agents),
                          obs_dim=int(np.prod(obs_space.shape))),
    )
    return MultiRLModuleSpec(rl_module_specs=specs)


def build_algo_config(settings: Settings):
    """PPOConfig (new API stack) for IAGC-PPO with the given settings.

    Wires: the DSA env (:class:`~rllib_experiments.envs.DSAMultiAgentEnv`),
    one actor per user (policy_mapping_fn agent -> module of the same id), the
    shared learner-only critic, IAGCTorchLearner and its connector, and the
    pruning callback when ``settings.schedule != "none"``.
    """
    from ray.rllib.algorithms.ppo import PPOConfig
    from rllib_experiments.env_runner import BatchedDSAEnvRunner
    from rllib_experiments.envs import DSAMultiAgentEnv
    from rllib_experiments.learner import IAGCTorchLearner
    from rllib_experiments.modules import policy_mapping_fn

    settings.validate()
    info = probe_env(settings)
    agents = info["agents"]
    config = (
        PPOConfig()
        .environment(DSAMultiAgentEnv, env_config=settings.env_kwargs())
        # IAGCTorchLearner checks the gradients' finiteness itself, once per step.
        .framework("torch", torch_skip_nan_gradients=True)
        .env_runners(
            num_env_runners=settings.num_env_runners,
            num_envs_per_env_runner=settings.envs_per_runner,
            batch_mode="complete_episodes",
            rollout_fragment_length="auto",
            **({"env_runner_cls": BatchedDSAEnvRunner} if settings.fast_sampling else {}),
        )
        # A list, not a set: modules are built (and their initial weights drawn) in this
        # order, so a set would make runs depend on PYTHONHASHSEED.
        .multi_agent(policies=list(agents), policy_mapping_fn=policy_mapping_fn)
        .rl_module(rl_module_spec=module_specs(settings, agents, info["obs_space"],
                                               info["act_space"]))
        .learners(
            learner_class=IAGCTorchLearner,
            add_default_connectors_to_learner_pipeline=False,
            learner_config_dict=dict(
                critic_lr=settings.critic_lr,
                iagc_num_epochs=settings.num_epochs,
                iagc_minibatch_episodes=settings.minibatch_episodes,
                iagc_shuffle=True,
                normalize_rewards=settings.normalize_rewards,
                standardize_advantages=settings.standardize_advantages,
            ),
        )
        .training(
            lr=settings.actor_lr,
            gamma=settings.gamma,
            lambda_=settings.gae_lambda,
            clip_param=settings.clip_eps,
            entropy_coeff=settings.entropy_coeff,
            use_kl_loss=False,
            kl_coeff=0.0,
            grad_clip=settings.grad_clip,
            grad_clip_by="global_norm",
            train_batch_size_per_learner=settings.episodes_per_iteration * info["horizon"],
            num_epochs=1,
            minibatch_size=None,
            shuffle_batch_per_epoch=False,
        )
        .debugging(seed=settings.seed)
        .reporting(metrics_num_episodes_for_smoothing=settings.episodes_per_iteration)
    )
    _wire_pruning(config, settings, agents)
    return config


def pruning_config(settings: Settings, agents):
    """pruning_callbacks.PruningConfig of the settings: one schedule per user, critic never pruned."""
    from pruning_callbacks.config import PruningConfig

    def per_user(value):
        return list(value) if isinstance(value, (list, tuple)) else value

    for name in ("final_sparsity", "initial_sparsity"):
        value = getattr(settings, name)
        if isinstance(value, (list, tuple)) and len(value) != len(agents):
            raise ValueError(f"setting {name} has {len(value)} values but there are "
                             f"{len(agents)} users")
    schedule = dict(
        name=settings.schedule,
        final_sparsity=per_user(settings.final_sparsity),
        start=settings.prune_start,
        end=settings.prune_end if settings.prune_end is not None else settings.iterations,
    )
    if settings.schedule == "harmonic":
        schedule["initial_sparsity"] = per_user(settings.initial_sparsity)
        schedule["amplitude"] = settings.harmonic_amplitude
        schedule["period"] = settings.harmonic_period
    return PruningConfig(
        modules=list(agents),  # the actors only: the shared critic stays dense (Remark 1)
        schedule=schedule,
        mode=settings.prune_mode,
        prune_every=settings.prune_interval,
        final_iteration=settings.iterations,
    )


def _wire_pruning(config, settings: Settings, agents) -> None:
    """Per-user magnitude pruning from pruning_callbacks (issue 3) when a schedule is set."""
    if settings.schedule == "none":
        return
    from pruning_callbacks.config import add_pruning

    from rllib_experiments.learner import PrunedIAGCTorchLearner

    config.learners(learner_class=PrunedIAGCTorchLearner)
    add_pruning(config, pruning_config(settings, agents))
