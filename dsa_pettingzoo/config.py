"""Configuration of the DSA environment: one frozen dataclass, presets and validation.

Every constructor of the package (``parallel_env``, ``env``, ``BatchedDSA``) takes the same
keyword arguments and passes them to :func:`make_config`, the one place where they are
checked. Presets follow Section IV-C of the paper:

* ``setup="A"``: N = 10 users, K = 5 channels, T = 100 slots, SNR ~ U[30, 40], no primary users.
* ``setup="B"``: the same plus primary users, occupancy pi_k = 0.2 on every channel, i.i.d. over slots.

Explicit keyword arguments override the preset. Without ``setup`` the defaults are setup A.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass

import numpy as np

REWARDS = ("sum_rate", "individual", "proportional_fair")
OBSERVATIONS = ("last_action_feedback", "last_action_feedback_rate")
PU_MODELS = ("iid", "markov")
RENDER_MODES = ("ansi", "rgb_array", "human")
SETUPS = ("A", "B")

#: Mean busy duration (slots) of a primary user under ``pu_model="markov"`` when not given.
DEFAULT_PU_MEAN_BUSY = 5.0

PRESETS: dict[str, dict] = {
    # Section IV-C: N = 10 secondary users, K = N/2 channels, beta ~ U[30, 40], T = 100.
    "A": dict(num_users=10, num_channels=5, horizon=100, snr_range=(30.0, 40.0), pu_prob=None),
    # Setup B: every channel occupied by a PU with probability 0.2, independently.
    "B": dict(num_users=10, num_channels=5, horizon=100, snr_range=(30.0, 40.0), pu_prob=0.2,
              pu_model="iid"),
}


@dataclass(frozen=True)
class DSAConfig:
    """Validated settings of one DSA system (build it with :func:`make_config`)."""

    num_users: int = 10
    """N, the number of secondary users (agents ``user_0`` ... ``user_{N-1}``)."""
    num_channels: int = 5
    """K, the number of orthogonal channels; actions are 0 (idle) or 1..K."""
    horizon: int = 100
    """T, slots per episode; the episode terminates after slot T."""
    snr_range: tuple[float, float] = (30.0, 40.0)
    """(low, high) of the uniform draw of the linear SNR beta[n, k] at every reset."""
    snr: tuple[tuple[float, ...], ...] | None = None
    """A fixed N x K linear SNR matrix used instead of the random draw (None: draw)."""
    pu_prob: tuple[float, ...] | None = None
    """pi_k, the primary-user occupancy probability of each channel (None: no primary users)."""
    pu_model: str = "iid"
    """"iid": occupancy independent every slot; "markov": two-state on/off chain, same pi_k."""
    pu_mean_busy: tuple[float, ...] | None = None
    """Mean busy-run length (slots) per channel under "markov" (None for "iid")."""
    reward: str = "sum_rate"
    """"sum_rate" (the paper's), "individual" or "proportional_fair"; see docs/environment.md."""
    observation: str = "last_action_feedback"
    """"last_action_feedback" (eq. 2) or "last_action_feedback_rate" (adds the normalised own rate)."""
    render_mode: str | None = None
    """None, "ansi", "rgb_array" or "human"."""
    setup: str | None = None
    """Name of the preset the config started from (informational)."""

    @property
    def has_pu(self) -> bool:
        """True when primary users are simulated."""
        return self.pu_prob is not None

    @property
    def snr_matrix(self) -> np.ndarray | None:
        """The fixed SNR matrix as a float64 array [N, K], or None."""
        return None if self.snr is None else np.asarray(self.snr, dtype=np.float64)

    @property
    def pu_prob_array(self) -> np.ndarray:
        """pi as float64 [K] (zeros without primary users)."""
        if self.pu_prob is None:
            return np.zeros(self.num_channels)
        return np.asarray(self.pu_prob, dtype=np.float64)

    @property
    def max_rate(self) -> float:
        """Largest possible own rate log2(1 + beta_max), used to normalise rates into [0, 1]."""
        beta_max = self.snr_range[1] if self.snr is None else float(np.max(self.snr_matrix))
        return float(np.log2(1.0 + beta_max))

    def to_kwargs(self) -> dict:
        """Keyword arguments that rebuild this config with :func:`make_config`."""
        d = asdict(self)
        d.pop("setup")
        if d["snr"] is not None:
            d.pop("snr_range")
        return d


def _check_int(name: str, value, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_choice(name: str, value, allowed) -> str:
    if value not in allowed:
        raise ValueError(f"unknown {name} {value!r}; allowed: {', '.join(map(repr, allowed))}")
    return value


def _as_float_array(name: str, value, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be {what}, got {value!r}") from None
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be {what} with finite values, got {value!r}")
    return arr


def _per_channel(name: str, value, K: int, what: str) -> np.ndarray:
    """A scalar or a length-K sequence -> float64 [K]."""
    arr = _as_float_array(name, value, what)
    if arr.ndim == 0:
        arr = np.full(K, float(arr))
    if arr.shape != (K,):
        raise ValueError(f"{name} must be a scalar or a sequence of num_channels={K} values "
                         f"({what}), got shape {arr.shape}")
    return arr


def make_config(**kwargs) -> DSAConfig:
    """Validate keyword arguments, apply a preset, and return a :class:`DSAConfig`.

    Arguments (all optional): ``setup`` ("A" or "B"), ``num_users``, ``num_channels``,
    ``horizon`` (alias ``max_cycles``, used by PettingZoo's ``max_cycles_test``), ``snr_range``,
    ``snr``, ``pu_prob`` (scalar, K values, or None), ``pu_model``, ``pu_mean_busy`` (scalar or K
    values, "markov" only), ``reward``, ``observation``, ``render_mode``.
    Raises ValueError naming the argument and what is allowed.
    """
    allowed = {f for f in DSAConfig.__dataclass_fields__} | {"max_cycles"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise ValueError(f"unknown argument(s) {unknown}; allowed: {sorted(allowed)}")

    # horizon / max_cycles alias
    if "max_cycles" in kwargs:
        mc = kwargs.pop("max_cycles")
        if "horizon" in kwargs and kwargs["horizon"] != mc:
            raise ValueError(f"max_cycles ({mc!r}) is an alias of horizon ({kwargs['horizon']!r}); "
                             "give one of them, or equal values")
        kwargs["horizon"] = mc

    setup = kwargs.pop("setup", None)
    if setup is not None:
        setup = _check_choice("setup", str(setup).upper() if isinstance(setup, str) else setup,
                              SETUPS)
        merged = dict(PRESETS[setup])
    else:
        merged = dict(PRESETS["A"])
    explicit = set(kwargs)
    merged.update(kwargs)

    N = _check_int("num_users", merged["num_users"])
    K = _check_int("num_channels", merged["num_channels"])
    T = _check_int("horizon", merged["horizon"])

    # SNR: range and/or fixed matrix
    if "snr" in explicit and "snr_range" in explicit and merged.get("snr") is not None:
        raise ValueError("give either snr (a fixed N x K matrix) or snr_range (random draw), not both")
    sr = merged.get("snr_range", (30.0, 40.0))
    sr_arr = _as_float_array("snr_range", sr, "a pair (low, high) of positive linear SNRs")
    if sr_arr.shape != (2,):
        raise ValueError(f"snr_range must be a pair (low, high) of positive linear SNRs, got {sr!r}")
    low, high = float(sr_arr[0]), float(sr_arr[1])
    if not (low > 0 and high > 0):
        raise ValueError(f"snr_range must be positive (linear SNR, not dB), got {sr!r}")
    if low > high:
        raise ValueError(f"snr_range must have low <= high, got {sr!r}")

    snr = merged.get("snr")
    snr_t = None
    if snr is not None:
        m = _as_float_array("snr", snr, f"an N x K = {N} x {K} matrix of positive linear SNRs")
        if m.shape != (N, K):
            raise ValueError(f"snr must be an N x K = {N} x {K} matrix (num_users x num_channels), "
                             f"got shape {m.shape}")
        if not np.all(m > 0):
            raise ValueError("snr must contain positive linear SNR values (not dB)")
        snr_t = tuple(tuple(float(x) for x in row) for row in m)

    # primary users
    pu_model = _check_choice("pu_model", merged.get("pu_model", "iid"), PU_MODELS)
    pu = merged.get("pu_prob")
    pu_t = None
    if pu is not None:
        p = _per_channel("pu_prob", pu, K, "probabilities in [0, 1]")
        if np.any(p < 0) or np.any(p > 1):
            raise ValueError(f"pu_prob must lie in [0, 1], got {pu!r}")
        pu_t = tuple(float(x) for x in p)
    elif pu_model == "markov":
        raise ValueError("pu_model='markov' needs pu_prob (the stationary occupancy pi_k); "
                         "pu_prob=None means no primary users")

    mb = merged.get("pu_mean_busy")
    mb_t = None
    if pu_model == "markov":
        mb_arr = _per_channel("pu_mean_busy", DEFAULT_PU_MEAN_BUSY if mb is None else mb, K,
                              "mean busy durations in slots, >= 1")
        if np.any(mb_arr < 1):
            raise ValueError(f"pu_mean_busy must be >= 1 slot, got {mb!r}")
        p = np.asarray(pu_t)
        # free->busy probability pi / (D (1 - pi)) must be <= 1, i.e. D >= pi / (1 - pi)
        inner = p < 1
        need = np.where(inner, p / np.where(inner, 1 - p, 1.0), 0.0)
        if np.any(mb_arr[inner] < need[inner] - 1e-12):
            raise ValueError(f"pu_mean_busy must be >= pi_k / (1 - pi_k) = {need.tolist()} so that a "
                             f"chain with occupancy pi_k exists, got {mb_arr.tolist()}")
        mb_t = tuple(float(x) for x in mb_arr)
    elif mb is not None:
        raise ValueError("pu_mean_busy applies only to pu_model='markov' (with pu_prob set)")

    reward = _check_choice("reward", merged.get("reward", "sum_rate"), REWARDS)
    observation = _check_choice("observation", merged.get("observation", "last_action_feedback"),
                                OBSERVATIONS)
    render_mode = merged.get("render_mode")
    if render_mode is not None:
        _check_choice("render_mode", render_mode, RENDER_MODES + (None,))

    return DSAConfig(num_users=N, num_channels=K, horizon=T, snr_range=(low, high), snr=snr_t,
                     pu_prob=pu_t, pu_model=pu_model, pu_mean_busy=mb_t, reward=reward,
                     observation=observation, render_mode=render_mode, setup=setup)
