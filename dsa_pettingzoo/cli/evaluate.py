"""``dsa-evaluate``: evaluate a baseline policy on the batched DSA simulator.

Example (the paper's setup A, 1000 episodes)::

    dsa-evaluate --policy aloha --setup A --episodes 1000 --seed 0
    python -m dsa_pettingzoo evaluate --policy oca --setup B --episodes 200 --json
    dsa-evaluate --policy pretrained:ours-A --episodes 100 --seed 12345   # shipped actors
    dsa-evaluate --list-pretrained

Prints mean +- std of the episode reward in the paper's unit (the episode sum
of the system throughput, sum_t sum_n log2(1 + beta^n(t)) = (1/N) sum_t sum_n
r_t^n), collision rate, idle rate, channel utilisation, Jain's fairness, and
the ratio to the oracle on the same episodes (same seeds: same SNR matrices and
PU sequences). Needs only numpy, gymnasium and pettingzoo.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

from .. import pretrained
from ..baselines import (
    EXPORTED_PREFIX,
    POLICIES,
    PRETRAINED_PREFIX,
    make_policy,
    policy_names,
    prefixed,
)
from ..config import OBSERVATIONS, PU_MODELS, REWARDS, SETUPS, ConfigError, make_config
from ..deploy.native import NativeUnavailableError
from ..deploy.policy import COMPUTE_MODES
from ..evaluation import (
    DEFAULT_CHUNK_SIZE,
    EVAL_SEED,
    EpisodeStats,
    evaluate_policy,
    oracle_ratios,
)
from .arg_types import int_at_least, number_in

#: Policy-parameter flags: flag dest -> (policy name, keyword of the policy class).
POLICY_PARAMS = {
    "aloha_p": ("aloha", "p"),
    "oca_p_tx": ("oca", "p_tx"),
    "oca_epsilon": ("oca", "epsilon"),
    "oca_eta": ("oca", "eta"),
    "oca_theta0": ("oca", "theta0"),
    "mc_backoff": ("musical_chairs", "backoff"),
    "mc_q_min": ("musical_chairs", "q_min"),
    "mc_patience": ("musical_chairs", "patience"),
}

#: Environment flags: flag dest -> make_config keyword.
ENV_PARAMS = {
    "setup": "setup",
    "num_users": "num_users",
    "num_channels": "num_channels",
    "horizon": "horizon",
    "snr_range": "snr_range",
    "snr": "snr",
    "pu_prob": "pu_prob",
    "pu_model": "pu_model",
    "pu_mean_busy": "pu_mean_busy",
    "reward": "reward",
    "observation": "observation",
}


# ----------------------------------------------------------------------------- argument types
_positive_int = int_at_least(1)
_nonneg_int = int_at_least(0)
_probability = number_in(0.0, 1.0)


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def _snr_matrix(text: str):
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        raise argparse.ArgumentTypeError(
            f"must be a JSON N x K matrix of positive linear SNRs, e.g. [[30, 35], [32, 38]], got {text!r}"
        ) from None
    return value


def _policy_name(text: str) -> str:
    """A baseline name, ``exported:DIR`` (a directory of exported actors) or ``pretrained:NAME``
    (a shipped set)."""
    if (
        text.startswith(PRETRAINED_PREFIX)
        and text[len(PRETRAINED_PREFIX) :] not in pretrained.names()
    ):
        shipped = ", ".join(PRETRAINED_PREFIX + n for n in pretrained.names()) or "none"
        raise argparse.ArgumentTypeError(
            f"no pretrained set {text[len(PRETRAINED_PREFIX) :]!r}; shipped: {shipped}"
        )
    if text in POLICIES or prefixed(text):
        return text
    raise argparse.ArgumentTypeError(f"must be one of {', '.join(policy_names())}, got {text!r}")


def _pretrained_table() -> str:
    """``--list-pretrained``: each shipped set, its setup and its evaluation (the manifest's)."""
    lines = ["set                  setup  users  greedy/oracle  sampled/oracle  trained by"]
    for name in pretrained.names():
        m = pretrained.manifest(name)
        ev = m["evaluation"]
        lines.append(
            f"{PRETRAINED_PREFIX + name:<20} {m['env']['setup']:<6} {m['num_users']:<6} "
            f"{ev['greedy']['oracle_ratio']:<14.4f} {ev['sampled']['oracle_ratio']:<15.4f} "
            f"{m['trained_by']['command']} (commit {m['trained_by']['commit'][:10]})"
        )
    if len(lines) == 1:
        lines.append("(none shipped)")
    return "\n".join(lines)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``dsa-evaluate`` (every flag documented in --help)."""
    p = argparse.ArgumentParser(
        prog="dsa-evaluate",
        description="Evaluate a baseline policy on the batched DSA simulator and compare it with "
        "the oracle on the same episodes. Reward unit: the episode sum of the system throughput, "
        "sum_t sum_n log2(1 + beta^n(t)) (the paper's (1/N) sum_t sum_n r_t^n).",
    )
    p.add_argument(
        "--policy",
        type=_policy_name,
        metavar="POLICY",
        help=f"baseline to evaluate: {', '.join(POLICIES)} (definitions: "
        f"docs/baselines.md), {EXPORTED_PREFIX}DIR, the users' actors exported "
        "to DIR by `python -m rllib_experiments export` (docs/deployment.md), or "
        f"{PRETRAINED_PREFIX}NAME, a set of learned actors shipped with the package "
        "(--list-pretrained). Required unless --list-pretrained",
    )
    p.add_argument(
        "--list-pretrained",
        action="store_true",
        help="list the shipped sets of learned actors (name, setup, their evaluation on the "
        "standard 100 episodes, the command that trained them) and exit",
    )
    p.add_argument(
        "--episodes", type=_positive_int, default=1000, help="number of episodes (default 1000)"
    )
    p.add_argument(
        "--seed",
        type=_nonneg_int,
        help="run seed: fixes the episodes' seeds (SNRs, PUs) and the policy's randomness "
        f"(default 0; for {PRETRAINED_PREFIX}NAME, {EVAL_SEED}: the standard episodes its "
        "manifest was evaluated on)",
    )
    p.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=DEFAULT_CHUNK_SIZE,
        help=f"episodes simulated at once (memory ~ chunk*N*K; default {DEFAULT_CHUNK_SIZE})",
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument(
        "--no-oracle", action="store_true", help="skip the oracle run (no ratio to the oracle)"
    )
    p.add_argument("--quiet", action="store_true", help="no progress line on stderr")

    env = p.add_argument_group("environment (defaults: the preset given by --setup)")
    env.add_argument(
        "--setup",
        choices=list(SETUPS),
        help="preset: A = N 10, K 5, T 100, no PUs; B = A plus iid PUs with "
        "pi_k = 0.2; C = A plus Markov PUs, pi_k 0.1..0.5 and mean busy runs "
        f"10..20 slots over the channels (default A; for {PRETRAINED_PREFIX}NAME, the "
        "setup the set was trained in)",
    )
    env.add_argument("--num-users", type=_positive_int, metavar="N", help="number of users N")
    env.add_argument("--num-channels", type=_positive_int, metavar="K", help="number of channels K")
    env.add_argument("--horizon", type=_positive_int, metavar="T", help="slots per episode T")
    env.add_argument(
        "--snr-range",
        type=_positive_float,
        nargs=2,
        metavar=("LOW", "HIGH"),
        help="linear SNR range of the uniform draw of beta (default 30 40)",
    )
    env.add_argument(
        "--snr",
        type=_snr_matrix,
        metavar="JSON",
        help="fixed N x K linear SNR matrix as JSON (instead of the random draw), "
        "e.g. '[[30, 35], [32, 38]]' with --num-users 2 --num-channels 2",
    )
    env.add_argument(
        "--pu-prob",
        type=_probability,
        nargs="+",
        metavar="PI",
        help="PU occupancy: one probability for every channel or K values "
        "(0 disables PUs in effect)",
    )
    env.add_argument("--no-pu", action="store_true", help="no primary users (overrides the preset)")
    env.add_argument(
        "--pu-model",
        choices=list(PU_MODELS),
        help="PU process: iid (every slot independent) or markov (on/off chain)",
    )
    env.add_argument(
        "--pu-mean-busy",
        type=_positive_float,
        nargs="+",
        metavar="D",
        help="markov only: mean busy duration in slots (one value or K values; default "
        "max(5, pi/(1 - pi)) per channel, the smallest valid value where 5 is too small)",
    )
    env.add_argument(
        "--reward",
        choices=list(REWARDS),
        help="env reward (does not change the reported unit, which is always the sum rate)",
    )
    env.add_argument(
        "--observation",
        choices=list(OBSERVATIONS),
        help="env observation (baselines do not read observations)",
    )

    pol = p.add_argument_group("policy parameters (only with the matching --policy)")
    pol.add_argument(
        "--aloha-p",
        type=_probability,
        metavar="P",
        help="aloha: transmission probability (default K/N, capped at 1)",
    )
    pol.add_argument(
        "--oca-p-tx",
        type=_probability,
        metavar="P",
        help="oca: transmission probability (default K/N, capped at 1)",
    )
    pol.add_argument(
        "--oca-epsilon",
        type=_probability,
        metavar="EPS",
        help="oca: exploration probability when transmitting (default 0.05)",
    )
    pol.add_argument(
        "--oca-eta",
        type=_probability,
        metavar="ETA",
        help="oca: step size of the success-frequency average, in (0, 1] (default 0.1)",
    )
    pol.add_argument(
        "--oca-theta0",
        type=_probability,
        metavar="TH",
        help="oca: initial success-frequency estimate (default 0.5)",
    )
    pol.add_argument(
        "--mc-backoff",
        type=_probability,
        metavar="F",
        help="musical_chairs: factor applied to a searcher's q each time it has "
        "collided on every channel (default 0.25)",
    )
    pol.add_argument(
        "--mc-q-min",
        type=_probability,
        metavar="Q",
        help="musical_chairs: floor of the searching transmission probability (default 0.02)",
    )
    pol.add_argument(
        "--mc-patience",
        type=_positive_int,
        metavar="C",
        help="musical_chairs: consecutive collisions before a seated user leaves (default 3)",
    )
    pol.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="any parameter of the chosen --policy, as its keyword in "
        "docs/baselines.md (repeatable), e.g. --policy mctopm --param index=ucb1, "
        "--policy game_of_thrones --param explore=10 --param epsilon=0.01",
    )
    pol.add_argument(
        "--exported-sample",
        action="store_true",
        help=f"{EXPORTED_PREFIX}DIR and {PRETRAINED_PREFIX}NAME: sample actions from the actors' softmax "
        "instead of taking the greedy (argmax) action",
    )
    pol.add_argument(
        "--exported-compute",
        choices=COMPUTE_MODES,
        metavar="MODE",
        help=f"{EXPORTED_PREFIX}DIR and {PRETRAINED_PREFIX}NAME: how the actors compute a step, one of "
        f"{', '.join(COMPUTE_MODES)} (default auto: numpy, sparse kernels only where "
        "they are faster; native: the compiled C kernel on the sparse weights, needs a "
        "C compiler; see docs/deployment.md). Results are the same up to float32 "
        "rounding",
    )
    return p


def _flag_of(argument: str, args) -> str:
    """The command-line flag that set the make_config keyword ``argument``."""
    if argument == "pu_prob" and args.no_pu:
        return "--no-pu"
    dest = next((d for d, key in ENV_PARAMS.items() if key == argument), argument)
    return "--" + dest.replace("_", "-")


def _env_kwargs(args, parser) -> dict:
    kwargs = {}
    for dest, key in ENV_PARAMS.items():
        value = getattr(args, dest)
        if value is None:
            continue
        if dest in ("pu_prob", "pu_mean_busy"):
            value = value[0] if len(value) == 1 else tuple(value)
        if dest == "snr_range":
            value = tuple(value)
        kwargs[key] = value
    if args.no_pu:
        if args.pu_prob is not None:
            parser.error("argument --no-pu: not allowed with --pu-prob")
        kwargs["pu_prob"] = None
        kwargs.setdefault("pu_model", "iid")
    try:
        make_config(**kwargs)
    except ConfigError as err:
        parser.error(f"argument {_flag_of(err.argument, args)}: {err}")
    return kwargs


def _with_flags(trained: dict, given: dict, args, parser) -> dict:
    """The environment of a shipped set's evaluation: its training environment, with the
    settings the flags give instead (a preset given by --setup replaces the set's)."""
    kwargs = {**trained, **given} if "setup" not in given else dict(given)
    try:
        make_config(**kwargs)
    except ConfigError as err:
        parser.error(f"argument {_flag_of(err.argument, args)}: {err}")
    return kwargs


def _exported_params(args, parser, env_kwargs: dict) -> dict:
    """Parameters of ``--policy exported:DIR``; the actors must fit the env (N, K, observation)."""
    if not prefixed(args.policy):
        for flag, given in (
            ("--exported-sample", args.exported_sample),
            ("--exported-compute", args.exported_compute is not None),
        ):
            if given:
                parser.error(
                    f"argument {flag}: applies only to --policy {EXPORTED_PREFIX}DIR or "
                    f"{PRETRAINED_PREFIX}NAME"
                )
        return {}
    params = {"greedy": not args.exported_sample}
    if args.exported_compute is not None:
        params["compute"] = args.exported_compute
    try:
        make_policy(args.policy, **params).check_config(make_config(**env_kwargs))
    except NativeUnavailableError as err:
        parser.error(f"argument --exported-compute: {err}")
    except ConfigError as err:  # the actors do not fit the environment the flags describe
        parser.error(f"argument {_flag_of(err.argument, args)}: {err}")
    except ValueError as err:
        parser.error(f"argument --policy: {err}")
    return params


def _param_value(text: str):
    """'20' -> 20, '0.1' -> 0.1, 'none' -> None, anything else stays a string."""
    if text.lower() == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def _policy_params(args, parser) -> dict:
    params = {}
    for item in args.param:
        key, sep, text = item.partition("=")
        if not sep or not key:
            parser.error(f"argument --param: must be NAME=VALUE, got {item!r}")
        params[key] = _param_value(text)
    if params and not prefixed(args.policy):
        try:
            make_policy(args.policy, **params)
        except TypeError:
            parser.error(
                f"argument --param: {args.policy} takes no parameter among "
                f"{', '.join(params)} (see docs/baselines.md)"
            )
        except ValueError as err:
            parser.error(f"argument --param: {err}")
    for dest, (policy, key) in POLICY_PARAMS.items():
        value = getattr(args, dest)
        if value is None:
            continue
        flag = "--" + dest.replace("_", "-")
        if policy != args.policy:
            parser.error(f"argument {flag}: applies only to --policy {policy}, not {args.policy}")
        try:
            make_policy(policy, **{key: value})
        except ValueError as err:
            parser.error(f"argument {flag}: {err}")
        params[key] = value
    return params


class _Progress:
    """A one-line progress indicator on stderr (no dependency on tqdm).

    Silent for runs shorter than ``delay`` seconds; then redrawn at most every 0.5 s.
    """

    def __init__(self, label: str, enabled: bool, delay: float = 1.0):
        self.label, self.enabled, self.delay = label, enabled, delay
        self.start = time.perf_counter()
        self.last_draw = None

    def __call__(self, done: int, total: int) -> None:
        if not self.enabled:
            return
        now = time.perf_counter()
        finished = done >= total
        if self.last_draw is None and (now - self.start < self.delay):
            return
        if not finished and self.last_draw is not None and now - self.last_draw < 0.5:
            return
        self.last_draw = now
        sys.stderr.write(
            f"\r[dsa-evaluate] {self.label}: {done}/{total} episodes "
            f"({100 * done / total:3.0f}%) {now - self.start:6.1f} s" + ("\n" if finished else "")
        )
        sys.stderr.flush()


def _reported_env(config) -> dict:
    """The environment a result reports: every setting but the render mode."""
    return {k: v for k, v in config.to_kwargs().items() if k != "render_mode"}


def run(args, env_kwargs: dict, policy_params: dict) -> dict:
    """Evaluate the policy (and the oracle on the same episodes); return the result dict."""
    show = not args.quiet

    def evaluate(name: str, params: dict) -> tuple[EpisodeStats, float]:
        t0 = time.perf_counter()
        stats = evaluate_policy(
            make_policy(name, **params),
            args.episodes,
            seed=args.seed,
            chunk_size=args.chunk_size,
            progress=_Progress(name, show),
            **env_kwargs,
        )
        return stats, time.perf_counter() - t0

    stats, seconds = evaluate(args.policy, policy_params)
    config = make_config(**env_kwargs)
    result = {
        "policy": args.policy,
        "policy_params": policy_params,
        **stats.summary(),
        "seed": args.seed,
        "chunk_size": args.chunk_size,
        "env": _reported_env(config),
        "seconds": seconds,
    }
    if args.policy == "oracle":
        oracle = stats
    elif not args.no_oracle:
        oracle, _ = evaluate("oracle", {})
    else:
        oracle = None
    if oracle is not None:
        result.update(oracle_ratios(stats, oracle))
    return result


def format_table(result: dict) -> str:
    """Human-readable table of a result dict."""
    env = result["env"]
    pu = "none" if env["pu_prob"] is None else f"{env['pu_model']} pi={list(env['pu_prob'])}"
    params = ", ".join(f"{k}={v}" for k, v in result["policy_params"].items()) or "defaults"
    lines = [
        f"policy {result['policy']} ({params}); N={env['num_users']} K={env['num_channels']} "
        f"T={env['horizon']} snr_range={list(env['snr_range'])} PUs: {pu}",
        f"{result['episodes']} episodes, seed {result['seed']}, chunk {result['chunk_size']}, "
        f"{result['seconds']:.1f} s",
        "",
        f"{'episode reward (sum_t sum_n rate)':36s} {result['mean_reward']:10.2f} "
        f"+- {result['std_reward']:.2f} (std; s.e.m. {result['sem_reward']:.2f})",
    ]
    for line in result.get("training_env_differences") or []:
        lines.insert(1, f"differs from the actors' training environment: {line}")
    if "oracle_ratio" in result:
        lines += [
            f"{'oracle reward, same episodes':36s} {result['oracle_mean_reward']:10.2f}",
            f"{'ratio to oracle':36s} {result['oracle_ratio']:10.3f}",
        ]
    rows = [
        ("successes per slot", "successes_per_slot"),
        ("collision rate (per attempt)", "collision_rate"),
        ("PU-blocked rate (per attempt)", "pu_blocked_rate"),
        ("idle rate (per user-slot)", "idle_rate"),
        ("utilisation (of K*T channel-slots)", "utilisation"),
        ("utilisation (of PU-free slots)", "utilisation_free"),
        ("Jain's fairness (mean over episodes)", "jain_fairness"),
    ]
    lines += [f"{label:36s} {result[key]:10.3f}" for label, key in rows]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``dsa-evaluate``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list_pretrained:
        print(_pretrained_table())
        return 0
    if args.policy is None:
        parser.error("the following arguments are required: --policy (or --list-pretrained)")
    shipped = None
    if args.policy.startswith(PRETRAINED_PREFIX):  # its defaults: the manifest's evaluation
        shipped = pretrained.manifest(args.policy[len(PRETRAINED_PREFIX) :])
        if args.seed is None:
            args.seed = shipped["evaluation"]["seed"]
    if args.seed is None:
        args.seed = 0
    env_kwargs = _env_kwargs(args, parser)
    if shipped is not None:  # the flags given change the set's training environment
        env_kwargs = _with_flags(shipped["env"], env_kwargs, args, parser)
    policy_params = {**_policy_params(args, parser), **_exported_params(args, parser, env_kwargs)}
    differences = None
    if prefixed(args.policy):
        differences = make_policy(args.policy, **policy_params).training_differences(
            make_config(**env_kwargs)
        )
        for line in differences:
            print(
                f"note: the environment differs from the actors' training environment: {line}",
                file=sys.stderr,
            )
    result = run(args, env_kwargs, policy_params)
    if differences is not None:
        result["training_env_differences"] = differences
    if args.json:
        print(json.dumps(result))
    else:
        print(format_table(result))
    if shipped is not None:
        print(_against_manifest(result, shipped, args), file=sys.stderr)
    return 0


def _against_manifest(result: dict, shipped: dict, args) -> str:
    """How this evaluation of a shipped set compares with its manifest's (same episodes or not)."""
    ev = shipped["evaluation"]
    mode = "sampled" if args.exported_sample else "greedy"
    same = (
        result["episodes"] == ev["episodes"]
        and result["seed"] == ev["seed"]
        and result["chunk_size"] == ev["chunk_size"]
        and result["env"] == _reported_env(make_config(**shipped["env"]))
    )
    if not same:
        return (
            f"note: not the manifest's episodes ({ev['episodes']} episodes of seed {ev['seed']} "
            f"in setup {shipped['env']['setup']}): no comparison with its {mode} reward "
            f"{ev[mode]['mean_reward']!r}"
        )
    said = ev[mode]["mean_reward"]
    verdict = (
        "equal" if result["mean_reward"] == said else f"DIFFERS (here {result['mean_reward']!r})"
    )
    return f"the manifest's {mode} mean reward on the same episodes: {said!r}: {verdict}"
