"""Configuration of the DSA environment: one frozen dataclass, presets and validation.

Every constructor of the package (``parallel_env``, ``env``, ``BatchedDSA``) takes the same
keyword arguments and passes them to :func:`make_config`, the one place where they are
checked. Presets follow Section IV-C of the paper:

* ``setup="A"``: N = 10 users, K = 5 channels, T = 100 slots, SNR ~ U[30, 40], no primary users.
* ``setup="B"``: the same plus primary users, occupancy pi_k = 0.2 on every channel, i.i.d. over slots.

Beyond the paper:

* ``setup="C"``: A's users and channels with bursty primary users: a Markov on/off chain per
  channel whose occupancy pi_k and mean busy run D_k differ between channels, spread evenly
  over :data:`SETUP_C_OCCUPANCY` and :data:`SETUP_C_MEAN_BUSY` for whatever K is used.
* :func:`scale_preset` gives any setup at another N with the paper's ratio K = N/2 (the sizes
  of :data:`SCALE_NUM_USERS`); :func:`scale_size` is that ratio alone.

Explicit keyword arguments override the preset. Without ``setup`` the defaults are setup A.
"""

from __future__ import annotations

import numbers
import sys
import warnings
from dataclasses import asdict, dataclass

import numpy as np

# The reward registry (name -> function); its keys are the allowed ``reward`` values.
from .rewards import REWARDS

OBSERVATIONS = ("last_action_feedback", "last_action_feedback_rate")
PU_MODELS = ("iid", "markov")
RENDER_MODES = ("ansi", "rgb_array", "human")

#: Mean busy duration (slots) of a primary user under ``pu_model="markov"`` when not given,
#: raised on a channel to the smallest valid value pi_k / (1 - pi_k) where that is larger.
DEFAULT_PU_MEAN_BUSY = 5.0

#: Warn above these sizes ("Scale" in docs/environment.md): past LARGE_NUM_USERS users a
#: ParallelEnv step takes about a second (measured 1.6 s at N = 100,000); past LARGE_SYSTEM_NK
#: users x channels one episode needs about a gigabyte (measured 4.3 GB at N*K = 5e7).
LARGE_NUM_USERS = 100_000
LARGE_SYSTEM_NK = 10_000_000


@dataclass(frozen=True)
class ChannelSpread:
    """Per-channel values evenly spaced from ``low`` (channel 1) to ``high`` (channel K).

    A preset value that depends on K: :func:`make_config` turns it into K numbers once K is
    known (K = 1 gets the midpoint). It may also be passed as ``pu_prob`` / ``pu_mean_busy``.
    """

    low: float
    high: float

    def values(self, num_channels: int) -> np.ndarray:
        """float64 [K]: low + (high - low) (k - 1) / (K - 1) for k = 1..K."""
        if num_channels == 1:
            return np.array([(self.low + self.high) / 2.0])
        # rounded so that the spread of 0.1 .. 0.5 over 5 channels has 0.3, not 0.30000000000000004
        return np.round(np.linspace(self.low, self.high, num_channels), 12)


#: Setup C: stationary occupancy pi_k spread from 10% (channel 1) to 50% (channel K).
SETUP_C_OCCUPANCY = ChannelSpread(0.1, 0.5)
#: Setup C: mean busy run D_k spread from 10 to 20 slots. A busy channel stays busy next slot
#: with probability 1 - 1/D_k = 0.90 .. 0.95, and a free one stays free with 1 - pi_k / (D_k
#: (1 - pi_k)) = 0.989 .. 0.95, against P(busy) = pi_k whatever came before under "iid": the
#: last slot's state of a channel predicts its next one.
SETUP_C_MEAN_BUSY = ChannelSpread(10.0, 20.0)

PRESETS: dict[str, dict] = {
    # Section IV-C: N = 10 secondary users, K = N/2 channels, beta ~ U[30, 40], T = 100.
    "A": dict(num_users=10, num_channels=5, horizon=100, snr_range=(30.0, 40.0), pu_prob=None),
    # Setup B: every channel occupied by a PU with probability 0.2, independently.
    "B": dict(
        num_users=10,
        num_channels=5,
        horizon=100,
        snr_range=(30.0, 40.0),
        pu_prob=0.2,
        pu_model="iid",
    ),
    # Setup C: bursty, heterogeneous primary users (Markov on/off chains, values per channel).
    "C": dict(
        num_users=10,
        num_channels=5,
        horizon=100,
        snr_range=(30.0, 40.0),
        pu_prob=SETUP_C_OCCUPANCY,
        pu_model="markov",
        pu_mean_busy=SETUP_C_MEAN_BUSY,
    ),
}

#: The preset names, the allowed values of ``setup``.
SETUPS = tuple(PRESETS)

#: Numbers of users of the scale presets (:func:`scale_preset`), each with K = N/2 channels.
SCALE_NUM_USERS = (10, 20, 50, 100)


class ConfigError(ValueError):
    """An invalid keyword argument of :func:`make_config`; ``argument`` names it."""

    def __init__(self, argument: str, message: str):
        super().__init__(message)
        self.argument = argument

    def __reduce__(self):
        return (type(self), (self.argument, str(self)))


@dataclass(frozen=True)
class DSAConfig:
    """Validated settings of one DSA system (build it with :func:`make_config`)."""

    num_users: int = 10
    """N, the number of secondary users (agents :func:`~dsa_pettingzoo.naming.agent_id` 0 .. N-1)."""
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
    """Mean busy-run length (slots) per channel under "markov" (None for "iid").

    Default: max(DEFAULT_PU_MEAN_BUSY, pi_k / (1 - pi_k)) on each channel."""
    reward: str = "sum_rate"
    """"sum_rate" (the paper's), "individual", "proportional_fair" or "difference"; see docs/environment.md."""
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


def _is_number(x) -> bool:
    """A real number that is not a bool (``True`` is not a probability, ``"0.2"`` not an SNR)."""
    return isinstance(x, numbers.Real) and not isinstance(x, (bool, np.bool_))


def _check_int(name: str, value, minimum: int = 1, label: str | None = None) -> int:
    label = label or name
    if (
        not isinstance(value, numbers.Integral)
        or isinstance(value, (bool, np.bool_))
        or value < minimum
    ):
        raise ConfigError(name, f"{label} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def _check_choice(name: str, value, allowed) -> str:
    if not isinstance(value, str) or value not in allowed:
        raise ConfigError(
            name, f"unknown {name} {value!r}; allowed: {', '.join(map(repr, allowed))}"
        )
    return value


def _as_float_array(name: str, value, what: str) -> np.ndarray:
    """Numbers (a scalar or nested sequences of them) as float64; ConfigError otherwise.

    Booleans, strings and other non-numbers are refused even where numpy would convert them;
    every value must be finite.
    """

    def numbers_only(v) -> bool:
        if isinstance(v, np.ndarray):
            return v.dtype.kind in "iuf" or (v.dtype.kind == "O" and all(map(numbers_only, v.flat)))
        if isinstance(v, (list, tuple)):
            return all(map(numbers_only, v))
        return _is_number(v)

    if not numbers_only(value):
        raise ConfigError(
            name, f"{name} must be {what} (numbers, not booleans or strings), got {value!r}"
        )
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ConfigError(name, f"{name} must be {what}, got {value!r}") from None
    if not np.all(np.isfinite(arr)):
        raise ConfigError(name, f"{name} must be {what} with finite values, got {value!r}")
    return arr


def _per_channel(name: str, value, K: int, what: str) -> np.ndarray:
    """A scalar or a length-K sequence -> float64 [K]."""
    arr = _as_float_array(name, value, what)
    if arr.ndim == 0:
        arr = np.full(K, float(arr))
    if arr.shape != (K,):
        raise ConfigError(
            name,
            f"{name} must be a scalar or a sequence of num_channels={K} "
            f"values ({what}), got shape {arr.shape}",
        )
    return arr


def _spread_values(name: str, value, K: int):
    """A :class:`ChannelSpread` as its K values (checked); any other value unchanged."""
    if not isinstance(value, ChannelSpread):
        return value
    _as_float_array(name, (value.low, value.high), "a ChannelSpread of two numbers")
    return value.values(K)


def min_pu_mean_busy(pu_prob) -> np.ndarray:
    """Smallest mean busy duration D_k for which a Markov chain with occupancy pi_k exists.

    The free->busy probability pi / (D (1 - pi)) must be <= 1, so D >= pi / (1 - pi); and
    D >= 1 slot. A channel with pi_k = 1 is always busy (any D >= 1).
    """
    p = np.asarray(pu_prob, dtype=np.float64)
    inner = p < 1
    return np.maximum(1.0, np.where(inner, p / np.where(inner, 1 - p, 1.0), 0.0))


def _markov_mean_busy(mb, pu: np.ndarray, K: int) -> tuple[float, ...]:
    need = min_pu_mean_busy(pu)
    if mb is None:  # the default, raised where it would be impossible
        return tuple(float(x) for x in np.maximum(DEFAULT_PU_MEAN_BUSY, need))
    d = _per_channel("pu_mean_busy", mb, K, "mean busy durations in slots, >= 1")
    if np.any(d < need - 1e-12):
        raise ConfigError(
            "pu_mean_busy",
            (
                f"pu_mean_busy must be >= max(1, pi_k / (1 - pi_k)) = {[round(float(x), 6) for x in need]} "
                f"(a chain with occupancy pi_k = {pu.tolist()} needs it), got {d.tolist()}; "
                f"use at least {round(float(need.max()), 6)} or leave pu_mean_busy out for the default"
            ),
        )
    return tuple(float(x) for x in d)


def _outside_package() -> int:
    """The ``stacklevel`` that makes a warning of make_config point at the user's code."""
    frame, level = sys._getframe(1), 1  # level 1: make_config itself
    while frame is not None and frame.f_globals.get("__name__", "").startswith(__package__ + "."):
        frame, level = frame.f_back, level + 1
    return level


def make_config(**kwargs) -> DSAConfig:
    """Validate keyword arguments, apply a preset, and return a :class:`DSAConfig`.

    Arguments (all optional): ``setup`` (one of :data:`SETUPS`), ``num_users``,
    ``num_channels``, ``horizon`` (alias ``max_cycles``, used by PettingZoo's
    ``max_cycles_test``), ``snr_range``, ``snr``, ``pu_prob`` (scalar, K values, or None),
    ``pu_model``, ``pu_mean_busy`` (scalar or K values, "markov" only; default
    max(DEFAULT_PU_MEAN_BUSY, pi_k / (1 - pi_k)) per channel; both may be a
    :class:`ChannelSpread`), ``reward``, ``observation``,
    ``render_mode``. Raises :class:`ConfigError` (a ValueError) whose ``argument`` is the
    keyword at fault and whose message says what is allowed. Warns (UserWarning) when
    num_users exceeds :data:`LARGE_NUM_USERS` or num_users * num_channels exceeds
    :data:`LARGE_SYSTEM_NK`.
    """
    allowed = {f for f in DSAConfig.__dataclass_fields__} | {"max_cycles"}
    unknown = sorted(set(kwargs) - allowed)
    if unknown:
        raise ConfigError(unknown[0], f"unknown argument(s) {unknown}; allowed: {sorted(allowed)}")

    horizon_name = "horizon"
    if "max_cycles" in kwargs:
        mc = kwargs.pop("max_cycles")
        if "horizon" in kwargs and kwargs["horizon"] != mc:
            raise ConfigError(
                "max_cycles",
                f"max_cycles ({mc!r}) is an alias of horizon "
                f"({kwargs['horizon']!r}); give one of them, or equal values",
            )
        kwargs["horizon"] = mc
        horizon_name = "max_cycles"

    setup = kwargs.pop("setup", None)
    if setup is not None:
        setup = _check_choice("setup", setup.upper() if isinstance(setup, str) else setup, SETUPS)
    merged = dict(PRESETS[setup or "A"])
    explicit = set(kwargs)
    merged.update(kwargs)

    N = _check_int("num_users", merged["num_users"])
    K = _check_int("num_channels", merged["num_channels"])
    T = _check_int(
        horizon_name,
        merged["horizon"],
        label="max_cycles (alias of horizon)" if horizon_name == "max_cycles" else None,
    )

    if "snr" in explicit and "snr_range" in explicit and merged.get("snr") is not None:
        raise ConfigError(
            "snr", "give either snr (a fixed N x K matrix) or snr_range (random draw), not both"
        )
    sr = merged.get("snr_range", (30.0, 40.0))
    pair = "a pair (low, high) of positive linear SNRs"
    sr_arr = _as_float_array("snr_range", sr, pair)
    if sr_arr.shape != (2,):
        raise ConfigError("snr_range", f"snr_range must be {pair}, got {sr!r}")
    low, high = float(sr_arr[0]), float(sr_arr[1])
    if not (low > 0 and high > 0):
        raise ConfigError(
            "snr_range", f"snr_range must be positive (linear SNR, not dB), got {sr!r}"
        )
    if low > high:
        raise ConfigError("snr_range", f"snr_range must have low <= high, got {sr!r}")

    snr = merged.get("snr")
    snr_t = None
    if snr is not None:
        m = _as_float_array("snr", snr, f"an N x K = {N} x {K} matrix of positive linear SNRs")
        if m.shape != (N, K):
            raise ConfigError(
                "snr",
                f"snr must be an N x K = {N} x {K} matrix (num_users x "
                f"num_channels), got shape {m.shape}",
            )
        if not np.all(m > 0):
            raise ConfigError("snr", "snr must contain positive linear SNR values (not dB)")
        snr_t = tuple(tuple(float(x) for x in row) for row in m)

    # A preset's primary users give way to explicit choices: pu_prob=None alone means no
    # primary users (so setup C's "markov" goes), and a preset's pu_mean_busy goes when the
    # model is not "markov" and is raised where an explicit pu_prob needs longer busy runs.
    if "pu_model" not in explicit and "pu_prob" in explicit and merged.get("pu_prob") is None:
        merged["pu_model"] = "iid"
    pu_model = _check_choice("pu_model", merged.get("pu_model", "iid"), PU_MODELS)
    preset_mb = "pu_mean_busy" not in explicit and merged.get("pu_mean_busy") is not None
    if preset_mb and pu_model != "markov":
        merged["pu_mean_busy"] = None
    pu = _spread_values("pu_prob", merged.get("pu_prob"), K)
    pu_t = None
    if pu is not None:
        p = _per_channel("pu_prob", pu, K, "probabilities in [0, 1]")
        if np.any(p < 0) or np.any(p > 1):
            raise ConfigError("pu_prob", f"pu_prob must lie in [0, 1], got {pu!r}")
        pu_t = tuple(float(x) for x in p)
    elif pu_model == "markov":
        raise ConfigError(
            "pu_model",
            "pu_model='markov' needs pu_prob (the stationary occupancy "
            "pi_k); pu_prob=None means no primary users",
        )

    mb = _spread_values("pu_mean_busy", merged.get("pu_mean_busy"), K)
    if preset_mb and pu_model == "markov":
        mb = np.maximum(mb, min_pu_mean_busy(pu_t))
    mb_t = None
    if pu_model == "markov":
        mb_t = _markov_mean_busy(mb, np.asarray(pu_t), K)
    elif mb is not None:
        raise ConfigError(
            "pu_mean_busy", "pu_mean_busy applies only to pu_model='markov' (with pu_prob set)"
        )

    reward = _check_choice("reward", merged.get("reward", "sum_rate"), REWARDS)
    observation = _check_choice(
        "observation", merged.get("observation", "last_action_feedback"), OBSERVATIONS
    )
    render_mode = merged.get("render_mode")
    if render_mode is not None:
        _check_choice("render_mode", render_mode, RENDER_MODES)

    if N > LARGE_NUM_USERS or N * K > LARGE_SYSTEM_NK:
        warnings.warn(
            f"a large system: num_users={N}, num_channels={K} (limits for a quick env: "
            f"num_users <= {LARGE_NUM_USERS:,}, num_users x num_channels <= {LARGE_SYSTEM_NK:,}); "
            "expect seconds per step and gigabytes of memory per episode (measurements: 'Scale' "
            "in docs/environment.md)",
            UserWarning,
            stacklevel=_outside_package(),
        )

    return DSAConfig(
        num_users=N,
        num_channels=K,
        horizon=T,
        snr_range=(low, high),
        snr=snr_t,
        pu_prob=pu_t,
        pu_model=pu_model,
        pu_mean_busy=mb_t,
        reward=reward,
        observation=observation,
        render_mode=render_mode,
        setup=setup,
    )


def scale_preset(setup: str, num_users: int) -> dict:
    """Keyword arguments of ``setup`` at N = ``num_users`` users and K = N/2 channels.

    The paper's setups have K = N/2 (N = 10, K = 5); this keeps that ratio at other sizes,
    e.g. ``make_config(**scale_preset("C", 50))`` has 25 channels, and setup C spreads its
    occupancies and busy durations over those 25. N must be even and >= 2.
    """
    setup = _check_choice("setup", setup.upper() if isinstance(setup, str) else setup, SETUPS)
    return {"setup": setup, **scale_size(num_users)}


def scale_size(num_users: int) -> dict:
    """``num_users`` and ``num_channels`` of N = ``num_users`` users at K = N/2 channels (the
    one place that ratio is written; :func:`scale_preset` adds the setup). N even, >= 2."""
    N = _check_int("num_users", num_users, minimum=2)
    if N % 2:
        raise ConfigError(
            "num_users", f"a scale preset has K = N/2 channels: num_users must be even, got {N}"
        )
    return {"num_users": N, "num_channels": N // 2}
