"""The one place for IAGC-PPO experiment settings on the DSA environment, and the presets.

Usage::

    from rllib_experiments.settings import load_preset
    from rllib_experiments.algorithm import build_algo_config
    settings = load_preset("paper_A", seed=3)          # presets/paper_A.json + overrides
    algo = build_algo_config(settings).build_algo()

Presets are JSON files in ``rllib_experiments/presets/`` (``paper_A``, ``paper_B``: the
paper's values; ``tiny``: CI-sized); every key is a :class:`Settings` field. The scale
presets ``scale_<setup>_N<N>`` (N in :data:`~dsa_pettingzoo.config.SCALE_NUM_USERS`) are
made, not stored: ``paper_<setup>`` at N users and K = N/2 channels (:func:`scale_fields`).
Module ids: ``user_0`` ... ``user_{N-1}`` (one actor each) and
:data:`~rllib_experiments.iagc.modules.CRITIC_ID` (the shared critic, learner only).
:mod:`rllib_experiments.algorithm` turns Settings into an RLlib config.

Validation happens here, once, at the boundary: :meth:`Settings.validate` raises
:class:`SettingsError` naming the field, and each command maps fields to its own flags.
A value that a lower layer checks authoritatively is handed to that layer, not checked
again here (:data:`CHECKED_BY` lists the owner of every check). Validation imports neither
torch nor ray.

Names: the pruning fields carry a ``prune_`` prefix here (Settings holds far more than
pruning) and drop it in ``PruningConfig``, which is only about pruning, where the bare word
is clear: ``prune_mode`` -> ``PruningConfig.mode``, ``prune_ranking`` -> ``ranking`` (the
magnitude ranking, "layer"/"global", also ``MagnitudePruner(ranking=...)``),
``prune_start``/``prune_end`` -> the schedule's ``start``/``end``; ``prune_interval`` and
``prune_biases`` keep their names down to the schedule and the masks; ``prune_algorithm``,
``prune_distribution``, ``prune_update_interval``, ``prune_drop_fraction`` and
``prune_drop_end`` -> ``algorithm``, ``distribution``, ``update_interval``,
``drop_fraction``, ``drop_end``. ``prune_scope``
(which of an actor's matrices are pruned) is the only "scope"; it becomes
``PruningConfig.include``/``exclude`` patterns (:mod:`rllib_experiments.iagc.prune_scopes`).
"""

from __future__ import annotations

import dataclasses
import json
import numbers
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple, Union

from dsa_pettingzoo.config import SCALE_NUM_USERS, SETUPS, ConfigError, make_config, scale_size
from dsa_pettingzoo.naming import agent_ids
from pruning_callbacks.rllib.pruning_config import (
    DEFAULT_EXCLUDE,
    PruningConfig,
    PruningConfigError,
)
from pruning_callbacks.schedules import (
    GradualSchedule,
    ScheduleError,
    agent_values,
    schedule_parameters,
)
from rllib_experiments.iagc.prune_scopes import PRUNE_SCOPES, prune_scope_patterns

PRESET_DIR = Path(__file__).parent / "presets"
#: Critic modes of :class:`~rllib_experiments.iagc.modules.SharedCritic` (kept here too so that
#: validating Settings imports neither torch nor ray; a test checks both agree).
CRITIC_MODES = ("paper", "centralized", "state")
#: Where the learner updates the modules (``learner_device``): sampling and evaluation stay
#: on the CPU.
LEARNER_DEVICES = ("cpu", "cuda")
__all__ = [
    "CHECKED_BY",
    "CRITIC_MODES",
    "LEARNER_DEVICES",
    "LEGACY_SCHEDULE_FIELDS",
    "PRESET_DIR",
    "PresetError",
    "PRUNE_SCOPES",
    "Settings",
    "SettingsError",
    "load_preset",
    "preset_names",
]

#: Who checks each setting (each value is checked once, by its owner; Settings.validate
#: maps the owner's error to the field):
CHECKED_BY = {
    "setup, env": "dsa_pettingzoo.config.make_config (the environment's own checks)",
    "schedule, final_sparsity, prune_start, prune_end, schedule_params": "the schedule's declared "
    "Bounds (pruning_callbacks.schedules), when PruningConfig builds one schedule per user; a "
    "value the chosen schedule does not take: GradualSchedule's declaration of it",
    "one value per user (lists)": "pruning_callbacks.schedules.per_agent_schedules, via PruningConfig",
    "prune_mode, prune_ranking, prune_interval, prune_biases, prune_algorithm, "
    "prune_distribution, prune_update_interval, prune_drop_fraction, prune_drop_end": "PruningConfig.__post_init__",
    "prune_scope": "rllib_experiments.iagc.prune_scopes.prune_scope_patterns",
    "the other fields, and the rules between fields": "Settings.validate",
}

#: PruningConfig field -> the Settings field that sets it (to name the field in errors).
_FIELD_OF_PRUNING = {
    "mode": "prune_mode",
    "ranking": "prune_ranking",
    "prune_interval": "prune_interval",
    "prune_biases": "prune_biases",
    "final_iteration": "iterations",
    "modules": "env",
    "include": "prune_scope",
    "exclude": "prune_scope",
    "algorithm": "prune_algorithm",
    "distribution": "prune_distribution",
    "update_interval": "prune_update_interval",
    "drop_fraction": "prune_drop_fraction",
    "drop_end": "prune_drop_end",
}
#: Schedule parameter -> the Settings field that sets it (the others: schedule_params).
_FIELD_OF_SCHEDULE = {
    None: "schedule",
    "name": "schedule",
    "final_sparsity": "final_sparsity",
    "start": "prune_start",
    "end": "prune_end",
}


#: Fields of older Settings -> their harmonic schedule parameter (read into schedule_params).
LEGACY_SCHEDULE_FIELDS = {
    "initial_sparsity": "initial_sparsity",
    "harmonic_amplitude": "amplitude",
    "harmonic_period": "period",
}


class SettingsError(ValueError):
    """A bad setting; ``field`` names the Settings field (so a CLI can name its own flag),
    ``argument`` the environment argument when ``field`` is ``env``."""

    def __init__(self, field: str, message: str, argument: Optional[str] = None):
        super().__init__(message)
        self.field = field
        self.argument = argument


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
    """"paper": shared critic on each user's own history (eq. 9); "centralized": on all users'
    observations; "state": on the environment's global state()."""
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
    num_learners: int = 0
    """RLlib learners: 0 (one, in the driver), 1 (one remote), >= 2 data-parallel replicas
    (each updates on episodes_per_iteration / num_learners episodes, gradients averaged)."""
    learner_threads: int = 1
    """Threads of one learner (num_learners <= 1): >= 2 runs the modules' forward, loss and
    backward on that many threads, the same result bit for bit (cores the machine has)."""
    autocast_bf16: bool = False
    """Run the actors' training forward (and so their backward) under bfloat16 autocast
    (CPUs with AVX512-BF16; gradients within about 1e-2 of float32, not validated for
    training quality). Sampling and evaluation stay float32."""
    learner_device: str = "cpu"
    """Where the learner runs the modules' training passes: cpu, or cuda (one GPU per
    learner, RLlib's num_gpus_per_learner; a machine without one is an error when the
    algorithm is built). Sampling and evaluation stay on the CPU."""
    seed: int = 0
    """Seed of torch, numpy and the environments."""
    fast_sampling: bool = True
    """Sample on the batched simulator (BatchedDSAEnvRunner) instead of RLlib's per-step runner."""
    # --- pruning (III-d), wired through pruning_callbacks --------------------------
    schedule: str = "none"
    """Sparsity schedule, a name of ``pruning_callbacks.schedules.SCHEDULES``: "none" (dense),
    "linear", "polynomial" (cubic), "harmonic", or any registered one."""
    final_sparsity: Union[float, Sequence[float]] = 0.95
    """p_final, one value or one per user (for schedules that take ``final_sparsity``)."""
    prune_start: int = 0
    """i_start: first pruning iteration (the schedule's ``start``, where it takes one)."""
    prune_end: Optional[int] = None
    """i_P: iteration where the schedule reaches p_final (its ``end``; None: iterations)."""
    schedule_params: Dict[str, Any] = field(default_factory=dict)
    """The schedule's other parameters (``python -m pruning_callbacks schedules --help``), a
    value or one per user each; e.g. harmonic: initial_sparsity (p_0), amplitude (A of eq. 13,
    paper 0.1), period (P of eq. 13, paper 200 one-episode iterations)."""
    prune_interval: int = 5
    """i_prune: iterations between pruning events in "regrow" mode (Remark 2; paper: 5)."""
    prune_mode: str = "regrow"
    """"regrow" (prune every prune_interval iterations, weights train freely between; the paper) or "hold" (masks held every step)."""
    prune_scope: str = "all"
    """Which weight matrices of each actor are pruned (the paper leaves it open): "all" (every
    one), "head_dense" (all but the output layer), "input_dense" (all but the first layer),
    "io_dense" (neither), "lstm_only" (the LSTM's only). Biases stay dense."""
    prune_biases: bool = False
    """Prune the biases of the pruned layers too (False: biases stay dense, as in the paper).
    Needed above about 0.991 of all actor parameters: the biases alone are 0.85 % of them."""
    prune_ranking: str = "layer"
    """Magnitude ranking: "layer" (each pruned matrix to p) or "global" (one ranking over all of
    an actor's pruned matrices, so p holds for their total)."""
    prune_algorithm: str = "magnitude"
    """Sparse training algorithm (``pruning_callbacks.algorithms``): "magnitude" (gradual
    magnitude pruning along the schedule; the paper's), or sparse from the start with
    schedule "constant" at final_sparsity: "static" (a fixed random mask), "set" (Mocanu et
    al. 2018: drop by magnitude, grow at random) or "rigl" (Evci et al. 2020: grow where the
    dense gradient is largest). prune_mode, prune_interval do not apply to the last three."""
    prune_distribution: str = "uniform"
    """Sparsity over an actor's pruned matrices: "uniform" (each to p) or "erk" (Erdős-Rényi
    kernel: density proportional to (fan_in + fan_out)/(fan_in fan_out), p over their total)."""
    prune_update_interval: int = 10
    """Delta T of "set" and "rigl": their masks move every this many iterations."""
    prune_drop_fraction: float = 0.3
    """Initial drop fraction of "set" and "rigl", decayed by cosine to 0 at prune_drop_end."""
    prune_drop_end: Optional[int] = None
    """Iteration where the drop fraction reaches 0 (None: 0.75 x iterations)."""
    # --- evaluation (IV-C) -------------------------------------------------------
    eval_interval: int = 10
    """Evaluate every this many iterations."""
    eval_episodes: int = 100
    """Episodes per evaluation."""

    # ------------------------------------------------------------------ helpers
    def to_dict(self) -> Dict[str, Any]:
        """Plain JSON-able dict of every field."""
        d = dataclasses.asdict(self)
        if isinstance(self.hidden_sizes, (tuple, list)):
            d["hidden_sizes"] = list(self.hidden_sizes)
        return d

    @classmethod
    def from_dict(cls, d: Dict[str, Any]) -> "Settings":
        """Settings from a dict; unknown keys raise SettingsError naming them.

        Settings saved before ``schedule_params`` existed (``initial_sparsity``,
        ``harmonic_amplitude``, ``harmonic_period``) are read into it for the harmonic
        schedule, and dropped for the others (which never used them).
        """
        names = {f.name for f in dataclasses.fields(cls)}
        d = dict(d)
        legacy = {k: d.pop(k) for k in LEGACY_SCHEDULE_FIELDS if k in d}
        if legacy and d.get("schedule") == "harmonic":
            d["schedule_params"] = {
                **{LEGACY_SCHEDULE_FIELDS[k]: v for k, v in legacy.items()},
                **(d.get("schedule_params") or {}),
            }
        unknown = sorted(set(d) - names)
        if unknown:
            raise SettingsError(
                unknown[0], f"unknown setting(s) {unknown}; allowed: {sorted(names)}"
            )
        if isinstance(d.get("hidden_sizes"), list):
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

    def schedule_spec(self) -> Dict[str, Any]:
        """The schedule as ``pruning_callbacks`` takes it: {"name": ..., **parameters}.

        ``final_sparsity``, ``prune_start`` and ``prune_end`` become the schedule's
        ``final_sparsity``, ``start`` and ``end`` where it takes them; values may be per user.
        """
        takes = {p.name for p in schedule_parameters(self.schedule)}
        spec: Dict[str, Any] = {"name": self.schedule}
        for key, value in self._schedule_fields().items():
            if key in takes:
                spec[key] = list(value) if isinstance(value, (list, tuple)) else value
        spec.update(self.schedule_params)
        return spec

    def _schedule_fields(self) -> Dict[str, Any]:
        """The schedule parameters that have their own Settings field, by parameter name."""
        return {
            "final_sparsity": self.final_sparsity,
            "start": self.prune_start,
            "end": self.prune_end if self.prune_end is not None else self.iterations,
        }

    def pruning_config(self) -> PruningConfig:
        """The PruningConfig of these settings: one schedule per user, the critic never pruned.

        Built (and so checked) once, by :meth:`validate`, and kept while the settings do
        not change; :func:`rllib_experiments.algorithm.build_algo_config` uses it as it is.
        """
        self.validate()
        return self.__dict__["_pruning"]

    def _build_pruning_config(self, users: Sequence[str]) -> PruningConfig:
        """PruningConfig of the settings for these actor ids; its errors named by Settings field."""
        if not isinstance(self.schedule_params, dict):
            raise SettingsError(
                "schedule_params",
                "setting schedule_params must be a dict of the "
                f"schedule's parameters, got {self.schedule_params!r}",
            )
        own = {"final_sparsity": "final_sparsity", "start": "prune_start", "end": "prune_end"}
        clash = sorted(set(self.schedule_params) & set(own))
        if clash:
            raise SettingsError(
                own[clash[0]],
                f"setting schedule_params: give {clash} with their "
                f"own settings {[own[c] for c in clash]}",
            )
        try:
            include, exclude = prune_scope_patterns(self.prune_scope, self.hidden_sizes)
        except ValueError as err:
            raise SettingsError("prune_scope", f"setting prune_scope: {err}") from None
        try:
            config = PruningConfig(
                modules=list(users),  # the actors only: the shared critic stays dense (Remark 1)
                schedule=self.schedule_spec(),
                mode=self.prune_mode,
                prune_interval=self.prune_interval,
                ranking=self.prune_ranking,
                prune_biases=self.prune_biases,
                include=include,
                exclude=[*DEFAULT_EXCLUDE, *exclude],
                final_iteration=self.iterations,
                algorithm=self.prune_algorithm,
                distribution=self.prune_distribution,
                update_interval=self.prune_update_interval,
                drop_fraction=self.prune_drop_fraction,
                drop_end=self.prune_drop_end,
            )
            # Values the chosen schedule does not take are still held to their declaration.
            takes = {p.name for p in schedule_parameters(self.schedule)}
            for key, value in self._schedule_fields().items():
                if key not in takes:
                    for v in agent_values(users, key, value):
                        GradualSchedule.check_value(key, v)
        except ScheduleError as err:
            name = _FIELD_OF_SCHEDULE.get(err.parameter, "schedule_params")
            raise SettingsError(name, f"setting {name}: {err}") from None
        except PruningConfigError as err:
            if err.field == "schedule":
                name = _FIELD_OF_SCHEDULE.get(err.parameter, "schedule_params")
            else:
                name = _FIELD_OF_PRUNING.get(err.field, err.field)
            raise SettingsError(name, f"setting {name}: {err}") from None
        return config

    def _num_users(self) -> int:
        """Users of the configured environment (its own checks name a bad argument)."""
        if not isinstance(self.env, dict):
            raise SettingsError(
                "env", f"setting env must be a dict of environment kwargs, got {self.env!r}"
            )
        if "setup" in self.env:
            raise SettingsError(
                "env",
                f"setting env: 'setup' is not an environment argument here, got "
                f"{self.env['setup']!r}; choose the setup with the setting setup (the run is "
                "named and reported by it)",
                argument="setup",
            )
        try:
            return make_config(**self.env_kwargs()).num_users
        except ConfigError as err:
            if err.argument == "setup":
                raise SettingsError("setup", f"setting setup: {err}") from None
            raise SettingsError(
                "env", f"setting env {err.argument}: {err}", argument=err.argument
            ) from None

    def validate(self) -> "Settings":
        """Check every field; raise SettingsError naming the bad setting and what is allowed.

        Each value is checked once, by its owner (:data:`CHECKED_BY`). Validating settings
        that did not change since they were last validated does nothing.
        """
        snapshot = repr(self.to_dict())
        if self.__dict__.get("_validated") == snapshot:
            return self

        def pos_int(name, minimum=1, allow_none=False):
            v = getattr(self, name)
            if v is None and allow_none:
                return
            if isinstance(v, bool) or not isinstance(v, numbers.Integral) or v < minimum:
                raise SettingsError(
                    name,
                    f"setting {name} must be an integer >= {minimum}"
                    f"{' or None' if allow_none else ''}, got {v!r}",
                )

        def real(name, low, high, low_open=False, allow_none=False):
            v = getattr(self, name)
            if v is None and allow_none:
                return
            ok = isinstance(v, numbers.Real) and not isinstance(v, bool)
            ok = ok and (low < v if low_open else low <= v) and v <= high
            if not ok:
                bracket = "(" if low_open else "["
                raise SettingsError(
                    name, f"setting {name} must be a number in {bracket}{low}, {high}], got {v!r}"
                )

        users = agent_ids(self._num_users())
        if self.learner_device not in LEARNER_DEVICES:
            raise SettingsError(
                "learner_device",
                f"setting learner_device must be one of {list(LEARNER_DEVICES)}, got "
                f"{self.learner_device!r}",
            )
        if self.critic_mode not in CRITIC_MODES:
            raise SettingsError(
                "critic_mode",
                f"setting critic_mode must be one of {list(CRITIC_MODES)}, got "
                f"{self.critic_mode!r}",
            )
        if not isinstance(self.hidden_sizes, (tuple, list)) or any(
            isinstance(h, bool) or not isinstance(h, numbers.Integral) or h < 1
            for h in self.hidden_sizes
        ):
            raise SettingsError(
                "hidden_sizes",
                f"setting hidden_sizes must be a list of positive integers, got {self.hidden_sizes!r}",
            )
        for name in (
            "lstm_size",
            "lstm_layers",
            "num_epochs",
            "iterations",
            "episodes_per_iteration",
            "eval_interval",
            "eval_episodes",
        ):
            pos_int(name)
        pos_int("num_env_runners", minimum=0)
        pos_int("num_learners", minimum=0)
        pos_int("learner_threads")
        pos_int("seed", minimum=0)
        pos_int("minibatch_episodes", allow_none=True)
        pos_int("num_envs_per_env_runner", allow_none=True)
        real("actor_lr", 0, 1, low_open=True)
        real("critic_lr", 0, 1, low_open=True)
        real("gamma", 0, 1)
        real("gae_lambda", 0, 1)
        real("clip_eps", 0, 1, low_open=True)
        real("entropy_coeff", 0, 1)
        real("grad_clip", 0, float("inf"), low_open=True, allow_none=True)
        for name in (
            "normalize_rewards",
            "standardize_advantages",
            "fast_sampling",
            "autocast_bf16",
        ):
            if not isinstance(getattr(self, name), bool):
                raise SettingsError(
                    name, f"setting {name} must be true or false, got {getattr(self, name)!r}"
                )
        pruning = self._build_pruning_config(users)
        runners = max(1, self.num_env_runners)
        per_call = self.envs_per_runner * runners
        if self.episodes_per_iteration % per_call:
            raise SettingsError(
                "episodes_per_iteration",
                f"setting episodes_per_iteration ({self.episodes_per_iteration}) must be a multiple "
                f"of num_envs_per_env_runner x max(1, num_env_runners) = {per_call}: every env "
                "runner samples whole batches of its vectorised episodes",
            )
        if self.learner_threads > 1 and self.num_learners > 1:
            raise SettingsError(
                "learner_threads",
                f"setting learner_threads ({self.learner_threads}) > 1 needs one "
                f"learner, got num_learners={self.num_learners}: threads split one learner's "
                "modules, data-parallel replicas split the episodes",
            )
        if self.num_learners > 1 and self.episodes_per_iteration % self.num_learners:
            raise SettingsError(
                "num_learners",
                f"setting num_learners ({self.num_learners}) must divide "
                f"episodes_per_iteration ({self.episodes_per_iteration}): each learner replica "
                "updates on whole episodes, the same number each",
            )
        if (
            self.minibatch_episodes is not None
            and self.minibatch_episodes > self.episodes_per_iteration
        ):
            raise SettingsError(
                "minibatch_episodes",
                f"setting minibatch_episodes ({self.minibatch_episodes}) must be at most "
                f"episodes_per_iteration ({self.episodes_per_iteration})",
            )
        self.__dict__["_pruning"] = pruning
        self.__dict__["_validated"] = snapshot
        return self


#: Name of the scale preset of a setup at N users (:func:`scale_fields`).
SCALE_PRESET = "scale_{setup}_N{num_users}"


def _scale_presets() -> Dict[str, Tuple[str, int]]:
    """Name -> (setup, N) of every named scale preset."""
    return {
        SCALE_PRESET.format(setup=s, num_users=n): (s, n) for s in SETUPS for n in SCALE_NUM_USERS
    }


def preset_names() -> list:
    """Names of the presets: the JSON files shipped in rllib_experiments/presets/ and the
    scale presets made from them (:func:`scale_fields`)."""
    return sorted([p.stem for p in PRESET_DIR.glob("*.json")] + list(_scale_presets()))


class PresetError(SettingsError):
    """A preset file that cannot be read as settings; ``path`` names the file."""

    def __init__(self, path: Path, field: str, message: str):
        super().__init__(field, f"preset {path}: {message}")
        self.path = path


def _read_preset(path: Path) -> Dict[str, Any]:
    try:
        with open(path) as f:
            d = json.load(f, object_pairs_hook=_unique_keys)
    except (OSError, UnicodeDecodeError) as err:
        raise PresetError(path, "preset", f"cannot be read: {err}") from None
    except json.JSONDecodeError as err:
        raise PresetError(path, "preset", f"not valid JSON: {err}") from None
    except _DuplicateKey as err:
        raise PresetError(path, err.key, f"key {err.key!r} given twice") from None
    if not isinstance(d, dict):
        raise PresetError(
            path, "preset", f"must hold a JSON object of settings, got {type(d).__name__}"
        )
    d.pop("_comment", None)
    return d


class _DuplicateKey(ValueError):
    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs):
    """json object hook: a dict, refusing a key given twice (JSON keeps the last silently)."""
    d = {}
    for key, value in pairs:
        if key in d:
            raise _DuplicateKey(key)
        d[key] = value
    return d


def scale_fields(setup: str, num_users: int) -> Dict[str, Any]:
    """The fields of the scale preset of ``setup`` at N = ``num_users`` (any even N): the
    paper's preset of the setup with N users and K = N/2 channels
    (:func:`dsa_pettingzoo.config.scale_size`)."""
    d = _read_preset(PRESET_DIR / f"paper_{setup}.json")
    d["env"] = {**d.get("env", {}), **scale_size(num_users)}
    return d


def load_preset(name_or_path: str, **overrides) -> Settings:
    """Settings from a named preset (or a JSON file path), with field overrides."""
    scale = _scale_presets().get(name_or_path)
    if scale is not None:
        d = scale_fields(*scale)
    else:
        path = Path(name_or_path)
        if not path.suffix:
            path = PRESET_DIR / f"{name_or_path}.json"
        if not path.is_file():
            raise ValueError(
                f"unknown preset {name_or_path!r}; available: {preset_names()} "
                "or a path to a JSON file"
            )
        d = _read_preset(path)
        try:
            return Settings.from_dict({**d, **overrides}).validate()
        except SettingsError as err:
            if err.field in overrides or err.field not in d:
                raise
            raise PresetError(path, err.field, str(err)) from None
    d.update(overrides)
    return Settings.from_dict(d).validate()
