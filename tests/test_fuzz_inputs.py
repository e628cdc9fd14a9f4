"""Fuzzed bad inputs: presets, search spaces and every command's flags.

Each input is either accepted or refused with the error the module documents, naming the
file, field, parameter or flag given; never another exception. Refused commands exit 2 and
write nothing. Generated with hypothesis (derandomized: the same examples on every run).
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import math
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rllib_experiments.settings import Settings, SettingsError, load_preset
from rllib_experiments.studies.common import search_space as ss

FUZZ = settings(
    max_examples=100,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)

FIELDS = [f.name for f in dataclasses.fields(Settings)]

# ---------------------------------------------------------------- values, good and bad
small_ints = st.integers(min_value=-3, max_value=40)
junk = st.one_of(
    st.none(),
    st.booleans(),
    small_ints,
    st.floats(allow_nan=True, allow_infinity=True, width=32),
    st.sampled_from([float("nan"), float("inf"), -1.0, 0.0, 1e-4, 0.5, 1.0, 2.5]),
    st.text(max_size=6),
    st.sampled_from(["1e-4", "16", "true", "A", "harmonic", "all"]),
    st.lists(small_ints, max_size=3),
    st.dictionaries(st.sampled_from(["a", "num_users", "period"]), small_ints, max_size=2),
)
#: Values a field could legitimately take (so that valid settings are generated too).
GOOD = {
    "setup": st.sampled_from(["A", "B", "C"]),
    "hidden_sizes": st.lists(st.integers(1, 16), min_size=1, max_size=2),
    "critic_mode": st.sampled_from(["paper", "centralized", "state"]),
    "schedule": st.sampled_from(["none", "linear", "polynomial", "harmonic"]),
    "final_sparsity": st.floats(0, 0.99),
    "prune_mode": st.sampled_from(["regrow", "hold"]),
    "prune_scope": st.sampled_from(["all", "head_dense", "io_dense", "lstm_only"]),
    "prune_ranking": st.sampled_from(["layer", "global"]),
    "actor_lr": st.floats(1e-5, 1e-2),
    "gamma": st.floats(0, 1),
    "iterations": st.integers(1, 50),
    "prune_start": st.integers(0, 60),
    "prune_end": st.one_of(st.none(), st.integers(1, 60)),
    "episodes_per_iteration": st.integers(1, 8),
    "minibatch_episodes": st.one_of(st.none(), st.integers(1, 8)),
    "num_learners": st.integers(0, 3),
    "learner_threads": st.integers(1, 3),
    "normalize_rewards": st.booleans(),
}
env_arg = st.sampled_from(
    ["num_users", "num_channels", "horizon", "pu_prob", "reward", "setup", "bogus"]
)
env_value = st.one_of(st.integers(-2, 12), junk)
env_dict = st.dictionaries(env_arg, env_value, max_size=3)
key = st.one_of(st.sampled_from(FIELDS), st.sampled_from(["bogus", "initial_sparsity", "Seed"]))


@st.composite
def preset_objects(draw):
    obj = {}
    for name in draw(st.lists(key, max_size=5, unique=True)):
        if name == "env":
            obj[name] = draw(st.one_of(env_dict, junk))
        elif name in GOOD and draw(st.booleans()):
            obj[name] = draw(GOOD[name])
        else:
            obj[name] = draw(junk)
    return obj


def _names_the_input(message: str, words) -> bool:
    return any(str(w) in message for w in words)


@FUZZ
@given(obj=preset_objects())
def test_a_fuzzed_preset_is_settings_or_a_settings_error_naming_file_or_field(obj):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "preset.json"
        path.write_text(json.dumps(obj))  # NaN and Infinity as Python's json writes them
        try:
            settings_ = load_preset(str(path))
        except SettingsError as err:
            assert err.field in obj or str(path) in str(err), (err.field, str(err))
            assert _names_the_input(str(err), [path, *obj]), str(err)
        else:
            assert isinstance(settings_, Settings)
            for name, value in obj.items():
                if name in FIELDS and not (isinstance(value, float) and math.isnan(value)):
                    got = getattr(settings_, name)
                    assert got == (tuple(value) if name == "hidden_sizes" else value)


@FUZZ
@given(text=st.text(max_size=30))
def test_preset_text_that_is_not_an_object_names_the_file(text):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "preset.json"
        path.write_text(text)
        try:
            load_preset(str(path))
        except SettingsError as err:
            assert str(path) in str(err), str(err)


# ---------------------------------------------------------------- search spaces
BASE = load_preset("paper_A").to_dict()
ALLOWED = sorted({*FIELDS} - set(ss.FIXED_FIELDS) | set(ss.DERIVED))
number = st.one_of(
    st.floats(-2, 2, allow_nan=False),
    st.sampled_from([float("nan"), float("inf"), 0.0, 1e-4, 0.3, 1.0, 5.0, 2000.0]),
    st.integers(-3, 30),
)
bounds = st.one_of(
    st.lists(number, min_size=2, max_size=2),
    st.lists(number, max_size=3),
    junk,
)
spec = st.one_of(
    junk,
    st.builds(lambda v: {"choice": v}, st.one_of(st.lists(junk, max_size=3), junk)),
    st.builds(lambda b: {"uniform": b}, bounds),
    st.builds(lambda b: {"loguniform": b}, bounds),
    st.builds(lambda b: {"randint": b}, bounds),
    st.builds(lambda b: {"normal": b}, bounds),
    st.builds(lambda a, b: {"choice": a, "uniform": b}, st.lists(junk, max_size=2), bounds),
)
parameter = st.one_of(
    st.sampled_from(ALLOWED), st.sampled_from(["setup", "iterations", "bogus", "hidden_sizes"])
)


@st.composite
def spaces(draw):
    params = draw(st.dictionaries(parameter, spec, max_size=3))
    data = {"parameters": params}
    if draw(st.booleans()):
        data["metric"] = draw(st.sampled_from(["greedy", "stochastic", "best", 3]))
    return data


@FUZZ
@given(data=spaces())
def test_a_fuzzed_search_space_is_accepted_or_names_its_parameter(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "space.json"
        path.write_text(json.dumps(data))
        try:
            space = ss.load_search_space(path)
            ss.check_space(space, BASE)
        except ss.SearchSpaceError as err:
            named = {*data["parameters"], "metric", None}
            assert err.parameter in named, (err.parameter, str(err))
            if err.parameter is not None:
                assert str(err.parameter) in str(err), str(err)


# ---------------------------------------------------------------- command flags
#: (package, command, argv, the flag the error must name); every case fails before any work.
FLAG_CASES = [
    # dsa_pettingzoo
    ("dsa_pettingzoo", "evaluate", ["--policy", "aloha", "--episodes", "0"], "--episodes"),
    ("dsa_pettingzoo", "evaluate", ["--policy", "aloha", "--seed", "-1"], "--seed"),
    ("dsa_pettingzoo", "evaluate", ["--policy", "aloha", "--chunk-size", "0"], "--chunk-size"),
    ("dsa_pettingzoo", "evaluate", ["--policy", "nope"], "--policy"),
    ("dsa_pettingzoo", "evaluate", ["--policy", "aloha", "--setup", "Z"], "--setup"),
    ("dsa_pettingzoo", "evaluate", ["--policy", "aloha", "--num-users", "0"], "--num-users"),
    (
        "dsa_pettingzoo",
        "evaluate",
        ["--policy", "aloha", "--num-channels", "-2"],
        "--num-channels",
    ),
    ("dsa_pettingzoo", "evaluate", ["--policy", "aloha", "--horizon", "x"], "--horizon"),
    ("dsa_pettingzoo", "evaluate", ["--policy", "aloha", "--pu-prob", "1.5"], "--pu-prob"),
    ("dsa_pettingzoo", "evaluate", ["--policy", "aloha", "--pu-prob", "nan"], "--pu-prob"),
    ("dsa_pettingzoo", "evaluate", ["--policy", "aloha", "--reward", "bogus"], "--reward"),
    ("dsa_pettingzoo", "evaluate", ["--policy", "aloha", "--param", "x"], "--param"),
    ("dsa_pettingzoo", "evaluate", ["--policy", "exported:does/not/exist"], "--policy"),
    ("dsa_pettingzoo", "benchmark", ["--num-envs", "0"], "--num-envs"),
    ("dsa_pettingzoo", "benchmark", ["--seconds", "0"], "--seconds"),
    ("dsa_pettingzoo", "benchmark", ["--seconds", "nan"], "--seconds"),
    ("dsa_pettingzoo", "benchmark", ["--seconds", "inf"], "--seconds"),
    ("dsa_pettingzoo", "benchmark", ["--setup", "Z", "--scale"], "--setup"),
    ("dsa_pettingzoo", "benchmark", ["--setups", "A,Z"], "--setups"),
    ("dsa_pettingzoo", "benchmark", ["--scale", "--sizes", "1"], "--sizes"),
    ("dsa_pettingzoo", "benchmark", ["--scale", "--sizes", "x"], "--sizes"),
    ("dsa_pettingzoo", "benchmark", ["--scale", "--channels", "0"], "--channels"),
    ("dsa_pettingzoo", "benchmark", ["--scale", "--max-gb", "-1"], "--max-gb"),
    ("dsa_pettingzoo", "study", ["bogus"], "study"),
    ("dsa_pettingzoo", "deploy-benchmark", ["--steps", "0"], "--steps"),
    ("dsa_pettingzoo", "deploy-benchmark", ["--repeats", "-1"], "--repeats"),
    ("dsa_pettingzoo", "deploy-benchmark", ["--batch", "0"], "--batch"),
    ("dsa_pettingzoo", "deploy-benchmark", ["--sparsities", "1.0"], "--sparsities"),
    ("dsa_pettingzoo", "deploy-benchmark", ["--sparsities", "nan"], "--sparsities"),
    (
        "dsa_pettingzoo",
        "deploy-benchmark",
        ["--kernel-sparsities", "-0.1"],
        "--kernel-sparsities",
    ),
    ("dsa_pettingzoo", "deploy-benchmark", ["--seed", "-1"], "--seed"),
    ("dsa_pettingzoo", "deploy-benchmark", ["--actors", "does/not/exist"], "--actors"),
    (
        "dsa_pettingzoo",
        "agreement",
        ["--reference", "a", "--candidate", "b", "--steps", "0"],
        "--steps",
    ),
    ("dsa_pettingzoo", "agreement", ["--reference", "a", "--candidate", "b"], "--reference"),
    (
        "dsa_pettingzoo",
        "agreement",
        ["--reference", "a", "--candidate", "b", "--seed", "-1"],
        "--seed",
    ),
    (
        "dsa_pettingzoo",
        "agreement",
        ["--reference", "a", "--candidate", "b", "--user", "-1"],
        "--user",
    ),
    ("dsa_pettingzoo", "mcu", ["--steps", "0"], "--steps"),
    ("dsa_pettingzoo", "mcu", ["--seed", "-1"], "--seed"),
    ("dsa_pettingzoo", "mcu", ["--reset-every", "0"], "--reset-every"),
    ("dsa_pettingzoo", "mcu", ["--sparsities", "1.0"], "--sparsities"),
    ("dsa_pettingzoo", "mcu", ["--sparsities", "nan"], "--sparsities"),
    ("dsa_pettingzoo", "mcu", ["--dtypes", "int4"], "--dtypes"),
    ("dsa_pettingzoo", "mcu", ["--actor", "does/not/exist.dsaactor"], "--actor"),
    ("dsa_pettingzoo", "mcu", ["--observations", "missing.npy"], "--observations"),
    # experiment commands not in tests/test_cli_flags.py
    ("rllib_experiments", "pruning_study", ["--study", "nope"], "--study"),
    ("rllib_experiments", "pruning_study", ["--rows", "nope"], "--rows"),
    ("rllib_experiments", "pruning_study", ["--seeds", "-1"], "--seeds"),
    ("rllib_experiments", "pruning_study", ["--iterations", "0"], "--iterations"),
    (
        "rllib_experiments",
        "pruning_study",
        ["--report-only", "--output", "does/not/exist"],
        "--output",
    ),
    ("rllib_experiments", "scale", ["--budget", "huge"], "--budget"),
    ("rllib_experiments", "scale", ["--sizes", "1"], "--sizes"),
    ("rllib_experiments", "scale", ["--sizes", "x"], "--sizes"),
    ("rllib_experiments", "scale", ["--setups", "Z"], "--setups"),
    ("rllib_experiments", "scale", ["--seeds", "-1"], "--seeds"),
    ("rllib_experiments", "scale", ["--iterations", "0"], "--iterations"),
    ("rllib_experiments", "scale", ["--report-only", "--output", "does/not/exist"], "--output"),
    ("rllib_experiments", "scale_goal", [], "FOLDER"),  # no study folder here
    ("rllib_experiments", "scale_goal", ["does/not/exist"], "FOLDER"),
    ("rllib_experiments", "verify", ["does/not/exist.json"], "RECORD"),
    ("rllib_experiments", "verify", ["x.json", "--iterations-limit", "0"], "--iterations-limit"),
    (
        "rllib_experiments",
        "export",
        ["--checkpoint", "does/not/exist", "--output", "o"],
        "--checkpoint",
    ),
    (
        "rllib_experiments",
        "export",
        ["--checkpoint", "c", "--output", "o", "--dtype", "int4"],
        "--dtype",
    ),
    (
        "rllib_experiments",
        "export",
        ["--checkpoint", "c", "--output", "o", "--encoding", "zip"],
        "--encoding",
    ),
    (
        "rllib_experiments",
        "export",
        ["--checkpoint", "c", "--output", "o", "--env", "{bad"],
        "--env",
    ),
    ("rllib_experiments", "plot_runs", ["does/not/exist", "--out", "p.png"], "paths"),
]


def _main(package, command):
    if package == "dsa_pettingzoo":
        from dsa_pettingzoo.__main__ import COMMANDS
    else:
        from rllib_experiments.__main__ import COMMANDS
    module = COMMANDS[command]
    module = module[0] if isinstance(module, tuple) else module
    return importlib.import_module(f"{package}.cli.{module}").main


@pytest.mark.parametrize(
    "package, command, argv, flag",
    FLAG_CASES,
    ids=[f"{c}:{' '.join(a)}" for _, c, a, _ in FLAG_CASES],
)
def test_bad_flag_of_any_command_exits_2_naming_it(
    package, command, argv, flag, tmp_path, monkeypatch, capsys
):
    monkeypatch.chdir(tmp_path)
    try:
        code = _main(package, command)(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    assert code == 2
    err = capsys.readouterr().err
    assert flag in err.strip().splitlines()[-1], err  # the error line, not the usage
    assert list(tmp_path.iterdir()) == []  # nothing written by a refused command
