"""Schedule registry: names, parameters, mask-update timing, a schedule added by a test.

A new schedule is one class and the register decorator (``OneShotSchedule`` below);
these tests use it by name through make_schedule, per_agent_schedules, PruningConfig and
the command line with no other edit. The RLlib run with it is in test_pruning_rllib.py.
"""

import ast
import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from pruning_callbacks.schedules import (
    SCHEDULES,
    DenseSchedule,
    HarmonicSchedule,
    Schedule,
    main,
    make_schedule,
    parameter,
    per_agent_schedules,
    register_schedule,
    schedule_class,
    schedule_parameters,
)

PACKAGE = Path(__file__).resolve().parents[1] / "pruning_callbacks"


@register_schedule("one_shot")
@dataclass(frozen=True)
class OneShotSchedule(Schedule):
    """Dense until iteration ``at``, then ``final_sparsity`` at once."""

    final_sparsity: float = parameter(0.5, "sparsity from iteration `at` on")
    at: int = parameter(10, "iteration of the single pruning step")

    def __post_init__(self):
        super().__post_init__()
        if self.at < 0:
            raise ValueError(f"at must be >= 0, got {self.at!r}")

    def sparsity(self, i):
        return self.final_sparsity if i >= self.at else 0.0


@pytest.fixture(scope="module", autouse=True)
def _unregister_one_shot():
    yield
    SCHEDULES.pop("one_shot", None)


def _pruning_config():
    return pytest.importorskip("pruning_callbacks.rllib.pruning_config").PruningConfig


# ---------------------------------------------------------------- registry
def test_builtin_names_and_classes():
    assert {"linear", "polynomial", "harmonic", "none"} <= set(SCHEDULES)
    assert schedule_class("harmonic") is HarmonicSchedule and HarmonicSchedule.name == "harmonic"
    assert schedule_class("none") is DenseSchedule


def test_unknown_name_lists_allowed():
    with pytest.raises(
        ValueError, match=r"unknown schedule name 'cubic'; allowed: \[.*'harmonic'.*'linear'"
    ):
        make_schedule("cubic")
    with pytest.raises(ValueError, match="unknown schedule name"):
        schedule_class(["linear"])


def test_parameters_with_defaults_and_docs():
    got = {p.name: (p.default, p.type) for p in schedule_parameters("harmonic")}
    assert got == {
        "final_sparsity": (0.95, float),
        "start": (0, int),
        "end": (1000, int),
        "initial_sparsity": (0.0, float),
        "amplitude": (0.1, float),
        "period": (200.0, float),
    }
    assert [p.name for p in schedule_parameters("linear")] == ["final_sparsity", "start", "end"]
    assert schedule_parameters("none") == []
    assert all(p.doc for p in schedule_parameters("harmonic"))
    assert "A of eq. (13)" in {p.name: p.doc for p in schedule_parameters("harmonic")}["amplitude"]


def test_unknown_parameters_rejected_naming_them():
    with pytest.raises(
        ValueError,
        match=r"'polynomial': unknown parameter\(s\) \['amplitude', 'p0'\]; "
        r"allowed: \['final_sparsity', 'start', 'end', 'prune_interval'",
    ):
        make_schedule("polynomial", amplitude=0.1, p0=0.2)
    with pytest.raises(ValueError, match=r"'none': unknown parameter\(s\) \['final_sparsity'\]"):
        make_schedule("none", final_sparsity=0.5)


def test_register_refuses_misuse():
    with pytest.raises(TypeError, match="above @dataclass"):

        @register_schedule("loose")
        class Loose(Schedule):  # not a frozen dataclass of its own
            pass

    with pytest.raises(ValueError, match="'linear' is taken"):

        @register_schedule("linear")
        @dataclass(frozen=True)
        class Other(Schedule):
            pass

    assert "loose" not in SCHEDULES and schedule_class("linear").__name__ == "LinearSchedule"


def test_dense_schedule():
    d = make_schedule("none", prune_interval=1, final_iteration=5)
    assert d.values(4) == [0.0] * 4 and d.final_sparsity == 0.0 and not d.prunes
    assert not any(d.is_mask_update_iter(i) for i in range(10))


# ---------------------------------------------------------------- mask-update timing
def test_is_mask_update_iter_every_k_and_final():
    s = make_schedule("linear", end=20, prune_interval=5, final_iteration=12)
    assert [i for i in range(20) if s.is_mask_update_iter(i)] == [4, 9, 11]
    assert [i for i in range(20) if s.is_final_iter(i)] == list(range(11, 20))
    unknown_end = make_schedule("linear", end=20, prune_interval=5)
    assert [i for i in range(20) if unknown_end.is_mask_update_iter(i)] == [4, 9, 14, 19]
    assert not any(unknown_end.is_final_iter(i) for i in range(100))
    every = make_schedule("harmonic", final_iteration=3)
    assert [every.is_mask_update_iter(i) for i in range(5)] == [True, True, True, False, False]


@pytest.mark.parametrize(
    "bad, match",
    [
        (dict(prune_interval=0), "prune_interval"),
        (dict(prune_interval=2.5), "prune_interval"),
        (dict(final_iteration=0), "final_iteration"),
    ],
)
def test_timing_validation(bad, match):
    with pytest.raises(ValueError, match=match):
        make_schedule("linear", **bad)


def test_modes_feed_prune_interval():
    PruningConfig = _pruning_config()
    sched = {"name": "linear", "final_sparsity": 0.5, "end": 10}
    hold = PruningConfig(
        modules=["a"], schedule=sched, mode="hold", prune_interval=5, final_iteration=12
    )
    regrow = PruningConfig(
        modules=["a"], schedule=sched, mode="regrow", prune_interval=5, final_iteration=12
    )
    assert hold.schedule_prune_interval == 1 and regrow.schedule_prune_interval == 5
    h, r = hold.schedules(["a"])["a"], regrow.schedules(["a"])["a"]
    assert [i for i in range(15) if h.is_mask_update_iter(i)] == list(range(12))  # every iteration
    assert [i for i in range(15) if r.is_mask_update_iter(i)] == [
        4,
        9,
        11,
    ]  # Remark 2 and the final one
    assert h.sparsity(5) == r.sparsity(5) == pytest.approx(0.25)


def test_legacy_names_read():
    """Older spellings still build the same objects: PruningConfig ``scope``/``prune_every``
    (learner_config_dict of older runs), a schedule's ``update_every``."""
    PruningConfig = _pruning_config()
    sched = {"name": "linear", "final_sparsity": 0.5, "end": 10}
    old = PruningConfig.from_dict(
        {"modules": ["a"], "schedule": sched, "mode": "regrow", "prune_every": 3, "scope": "global"}
    )
    new = PruningConfig(
        modules=["a"], schedule=sched, mode="regrow", prune_interval=3, ranking="global"
    )
    assert old == new
    assert make_schedule("linear", end=20, update_every=5) == make_schedule(
        "linear", end=20, prune_interval=5
    )


def test_pruning_config_errors_name_the_field():
    from pruning_callbacks.rllib.pruning_config import PruningConfigError

    PruningConfig = _pruning_config()
    for kwargs, field, param in (
        (dict(ranking="matrix"), "ranking", None),
        (dict(mode="soft"), "mode", None),
        (dict(prune_interval=0), "prune_interval", None),
        (dict(schedule={"name": "linear", "end": -1}), "schedule", "end"),
    ):
        with pytest.raises(PruningConfigError) as err:
            PruningConfig(**kwargs)
        assert (err.value.field, err.value.parameter) == (field, param)


def test_pruning_config_schedule_validation():
    PruningConfig = _pruning_config()
    with pytest.raises(
        ValueError,
        match=r"pruning.schedule: schedule 'linear': unknown parameter\(s\) "
        r"\['period'\]; allowed: \['final_sparsity', 'start', 'end'\]$",
    ):
        PruningConfig(schedule={"name": "linear", "period": 10})
    with pytest.raises(ValueError, match=r"pruning.schedule: unknown schedule name 'cosine'"):
        PruningConfig(schedule={"name": "cosine"})
    with pytest.raises(
        ValueError, match=r"\['prune_interval'\] are set by pruning.mode, pruning.prune_interval"
    ):
        PruningConfig(schedule={"name": "linear", "prune_interval": 2})
    with pytest.raises(
        ValueError, match="final_sparsity must be in"
    ):  # checked before any Learner exists
        PruningConfig(schedule={"name": "linear", "final_sparsity": 1.5})
    with pytest.raises(
        ValueError, match=r"schedule 'linear': unknown parameter\(s\) \['initial_sparsity'\]"
    ):
        PruningConfig(
            modules=["a", "b"],
            schedule={"name": {"a": "harmonic", "b": "linear"}, "initial_sparsity": 0.1},
        )


# ---------------------------------------------------------------- a schedule added by a test
def test_registered_schedule_by_name():
    s = make_schedule("one_shot", final_sparsity=0.7, at=3)
    assert isinstance(s, OneShotSchedule) and s.values(5) == [0.0, 0.0, 0.0, 0.7, 0.7]
    assert [p.name for p in schedule_parameters("one_shot")] == ["final_sparsity", "at"]
    with pytest.raises(ValueError, match="at must be >= 0"):
        make_schedule("one_shot", at=-1)
    d = per_agent_schedules(
        ["a", "b"], name={"a": "one_shot", "b": "linear"}, final_sparsity=[0.7, 0.4]
    )
    assert d["a"].values(11)[-2:] == [0.0, 0.7] and d["b"](500) == pytest.approx(
        0.2
    )  # linear's end: 1000
    with pytest.raises(ValueError, match=r"'one_shot': unknown parameter\(s\) \['end'\]"):
        per_agent_schedules(["a"], name="one_shot", end=4)


def test_per_agent_dicts_skip_agents_whose_schedule_lacks_the_parameter():
    d = per_agent_schedules(
        ["a", "b", "c"],
        name={"a": "harmonic", "b": "linear", "c": "none"},
        final_sparsity={"a": 0.9, "b": 0.8},
        end={"a": 100, "b": 50},
        period={"a": 40},
    )
    assert d["a"].end == 100 and d["a"].period == 40 and d["b"](25) == pytest.approx(0.4)
    assert isinstance(d["c"], DenseSchedule)
    with pytest.raises(
        ValueError, match="final_sparsity: no value for agent 'b'"
    ):  # linear takes it
        per_agent_schedules(
            ["a", "b"], name={"a": "harmonic", "b": "linear"}, final_sparsity={"a": 0.9}
        )
    with pytest.raises(
        ValueError, match=r"'none': unknown parameter\(s\) \['end'\]"
    ):  # scalars go to all
        per_agent_schedules(["a", "c"], name={"a": "linear", "c": "none"}, end=10)


def test_registered_schedule_in_pruning_config():
    PruningConfig = _pruning_config()
    cfg = PruningConfig(
        modules=["a", "b"],
        schedule={"name": "one_shot", "final_sparsity": {"a": 0.6, "b": 0.3}, "at": 2},
        mode="regrow",
        prune_interval=2,
        final_iteration=6,
    )
    sched = cfg.schedules(["a", "b"])
    assert [sched["a"](i) for i in range(4)] == [0.0, 0.0, 0.6, 0.6] and sched["b"](2) == 0.3
    assert [i for i in range(8) if sched["a"].is_mask_update_iter(i)] == [1, 3, 5]
    assert PruningConfig.from_dict(cfg.to_dict()).schedules(["a", "b"]) == sched
    with pytest.raises(
        ValueError,
        match=r"'one_shot': unknown parameter\(s\) \['end'\]; "
        r"allowed: \['final_sparsity', 'at'\]",
    ):
        PruningConfig(schedule={"name": "one_shot", "end": 5})


def test_registered_schedule_on_command_line(capsys):
    assert (
        main(
            [
                "--schedule",
                "one_shot",
                "--iterations",
                "4",
                "--at",
                "2",
                "--final-sparsity",
                "0.8",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out == {
        "schedule": "one_shot",
        "iterations": 4,
        "final_sparsity": 0.8,
        "at": 2,
        "sparsity": [0.0, 0.0, 0.8, 0.8],
    }
    with pytest.raises(SystemExit):  # a flag of another schedule
        main(["--schedule", "one_shot", "--iterations", "4", "--period", "5"])
    assert "unknown parameter(s) ['period']" in capsys.readouterr().err


# ---------------------------------------------------------------- imports
def test_schedules_import_without_torch_or_ray():
    code = (
        "import sys, pruning_callbacks.schedules; "
        "print(sorted(m for m in ('torch', 'ray') if m in sys.modules))"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=PACKAGE.parent
    )
    assert r.stdout.strip() == "[]"


def _internal_imports(path: Path):
    """Modules of pruning_callbacks imported anywhere in ``path``, in functions too."""
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if (
            isinstance(node, ast.ImportFrom)
            and node.module
            and node.module.startswith("pruning_callbacks")
        ):
            out.add(node.module)
        elif isinstance(node, ast.Import):
            out |= {a.name for a in node.names if a.name.startswith("pruning_callbacks")}
    return out


def test_no_import_cycle_in_package():
    graph = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        graph[name] = _internal_imports(path) - {name}
    assert {
        "pruning_callbacks.rllib.pruning_config",
        "pruning_callbacks.rllib.callback",
        "pruning_callbacks.rllib.learner",
    } <= set(graph)
    assert "pruning_callbacks.rllib.callback" not in graph["pruning_callbacks.rllib.pruning_config"]
    assert "pruning_callbacks.rllib.pruning_config" not in graph["pruning_callbacks.schedules.base"]

    def visit(node, stack):
        assert node not in stack, f"import cycle: {' -> '.join(stack + [node])}"
        for dep in graph.get(node, ()):
            visit(dep, stack + [node])

    for name in graph:
        visit(name, [])
