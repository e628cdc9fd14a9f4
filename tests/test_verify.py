"""``python -m rllib_experiments verify``: records rerun and compared, figure by figure.

* The committed cheap records of ``docs/results/raw/verify_smoke`` (``reproduce --budget smoke
  --rows harmonic aloha --setups A``) verify end to end. On the CPU model the records name
  (their ``provenance.cpu``, with the same torch) the rerun must be **bit-identical**: the
  command says ``equal``. On another CPU, torch may pick other kernels and the floats of the
  updates differ in their last bits (``../shared/notes/reproducibility.md``, "Machines
  differ"), as in tests/test_golden.py: there the test compares what a float-level
  difference cannot move, the discrete figures (iterations, episodes, parameter counts, the
  environment) exactly and the evaluation of the untrained actors (iteration 0) and the
  baseline's reward to a relative 1e-4; the later figures must be finite. The test says in
  its output which comparison it made.
* A record with one curve value changed is reported at that iteration and figure (exit 1);
  ``--iterations-limit`` before the change says equal.
* A file that is not a trial record is refused with an error naming the argument.
* Older records (the budget only a name, an absolute run folder) are still understood.
"""

from __future__ import annotations

import json
import os
import math
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SMOKE = REPO / "docs" / "results" / "raw" / "verify_smoke"
RECORDS = [SMOKE / "trials" / "A__harmonic__s0.json", SMOKE / "trials" / "A__aloha__s0.json"]
#: Figures that agree exactly on any CPU.
DISCRETE = ("iteration", "episodes", "num_params_per_actor", "iterations", "episodes_trained")


def _record(**fields):
    rec = dict(
        trial="A__dense__s0",
        row="dense",
        setup="A",
        seed=0,
        kind="learning",
        budget="quick",
        iterations=4,
        curve=[
            {"iteration": i, "reward": 10.0 + i, "reward_greedy": 20.0 + i, "episodes": i}
            for i in (0, 2, 4)
        ],
        trace={"train_reward": [1.0, 2.0, 3.0, 4.0]},
        final_reward=14.0,
        final_greedy=24.0,
    )
    rec.update(fields)
    return rec


# ----------------------------------------------------------------------------- comparing
def test_first_difference_names_the_iteration_and_the_figure():
    from rllib_experiments.studies.common.verify import first_difference

    rec = _record()
    assert first_difference(rec, json.loads(json.dumps(rec))) is None
    tampered = json.loads(json.dumps(rec))
    tampered["curve"][2]["reward_greedy"] = 23.5
    d = first_difference(tampered, rec)
    assert (d.iteration, d.figure) == (4, "reward_greedy")
    assert str(d) == "differs at iteration 4: reward_greedy 23.5 (record) vs 24.0 (rerun)"
    # a training row that differs before the curve does is the first difference
    tampered["trace"]["train_reward"][1] = 2.5
    d = first_difference(tampered, rec)
    assert (d.iteration, d.figure) == (2, "training train_reward")
    # last bits: shown in full
    close = json.loads(json.dumps(rec))
    close["final_greedy"] = 24.000000000000004
    assert (
        str(first_difference(close, rec))
        == "differs in: final_greedy 24.000000000000004 (record) vs 24.0 (rerun)"
    )
    # with a limit, nothing after it counts (and no final figure of a partial run)
    tampered = json.loads(json.dumps(rec))
    tampered["curve"][2]["reward"] = 0.0
    assert first_difference(tampered, rec, limit=2) is None
    assert first_difference(tampered, rec, limit=4).iteration == 4
    # a rerun that lacks a point
    short = dict(rec, curve=rec["curve"][:2])
    assert (
        str(first_difference(rec, short))
        == 'differs at iteration 4: evaluation "a point" (record) vs "none" (rerun)'
    )


def test_baseline_records_compare_reward_and_environment():
    from rllib_experiments.studies.common.verify import first_difference

    rec = dict(
        trial="A__aloha__s0",
        row="aloha",
        kind="baseline",
        final_reward=5.0,
        final_reward_std=1.0,
        env_kwargs={"num_users": 3},
    )
    assert first_difference(rec, dict(rec)) is None
    assert first_difference(rec, dict(rec, env_kwargs={"num_users": 4})).figure == "env_kwargs"


# ----------------------------------------------------------------------------- refusing
@pytest.mark.parametrize(
    "content, said",
    [
        ("not json", "not JSON"),
        ("[1, 2]", "holds a JSON list"),
        (
            json.dumps({"command": "reproduce"}),
            "not a trial record (no trial, row, setup, seed, kind, budget",
        ),
        (
            json.dumps(_record(kind="transfer")),
            "a 'transfer' record; verify reruns learning and baseline",
        ),
        (
            json.dumps(_record(budget="no_such_budget")),
            "budget 'no_such_budget' is none of the known",
        ),
    ],
)
def test_a_file_that_is_not_a_trial_record_is_refused(tmp_path, capsys, content, said):
    pytest.importorskip("ray")
    from rllib_experiments.cli.verify import main

    path = tmp_path / "x.json"
    path.write_text(content)
    with pytest.raises(SystemExit) as done:
        main([str(path)])
    assert done.value.code == 2
    err = capsys.readouterr().err
    assert "argument RECORD" in err and str(path) in err and said in err, err
    with pytest.raises(SystemExit):
        main([str(tmp_path / "missing.json")])
    assert "cannot be read" in capsys.readouterr().err


# ----------------------------------------------------------------------------- old records
def test_older_records_are_understood(tmp_path):
    """A budget that is only a name resolves through the study's budget tables, with the
    iterations the record's settings show; an absolute run folder is read as it is."""
    pytest.importorskip("torch")
    from rllib_experiments.cli.verify import STUDIES
    from rllib_experiments.methods import get_row
    from rllib_experiments.studies.common.records import relative_run_folder, run_folder
    from rllib_experiments.studies.common.trials import base_settings
    from rllib_experiments.studies.common.verify import budget_config, check_record
    from rllib_experiments.studies.scale.budgets import budget_for

    trials = tmp_path / "old" / "trials"
    trials.mkdir(parents=True)
    # the pruning study's ours at 300 iterations (the paper's budget), with an absolute folder
    old = _record(
        trial="A__ours__s1",
        row="ours",
        seed=1,
        budget="paper",
        iterations=300,
        run_folder=str(tmp_path / "runs" / "A__ours__s1"),
    )
    (trials / "A__ours__s1.json").write_text(json.dumps(old))
    rec, budget = check_record(trials / "A__ours__s1.json", STUDIES)
    assert (
        budget["name"] == "paper"
        and budget["iterations"] == 1000
        and budget["preset"] == "paper_{setup}"
    )
    assert run_folder(rec, tmp_path / "old") == tmp_path / "runs" / "A__ours__s1"
    # a new record's folder is relative to its results folder
    new = dict(
        rec, run_folder=relative_run_folder(tmp_path / "runs" / "A__ours__s1", tmp_path / "old")
    )
    assert new["run_folder"] == "../runs/A__ours__s1"
    assert (
        run_folder(new, tmp_path / "old").resolve() == (tmp_path / "runs" / "A__ours__s1").resolve()
    )
    assert run_folder(dict(rec, run_folder=None), tmp_path) is None

    # reproduce's dense with --iterations 300 under the quick budget
    quick = budget_config(_record(budget="quick", iterations=300), STUDIES["rows"].budgets)
    assert quick["name"] == "quick" and quick["iterations"] == 300
    # the scale study's ours at N = 20 trained 600 iterations: --iterations 2000 of scale_bf16
    scale = _record(
        trial="A__ours__s0", row="ours", budget="scale_bf16", iterations=600, num_users=20
    )
    b = budget_config(scale, STUDIES["scale"].budgets, lambda b: budget_for(b, 20))
    assert b["name"] == "scale_bf16" and b["overrides"] == {"autocast_bf16": True}
    settings = get_row("ours").settings(base_settings(budget_for(b, 20), "A", 0))
    assert (
        settings.iterations == 600
        and settings.autocast_bf16
        and settings.env_kwargs()["num_users"] == 20
    )
    # a new record keeps its whole budget
    assert budget_config(dict(scale, budget_config={"name": "x", "iterations": 7}), {}) == {
        "name": "x",
        "iterations": 7,
    }


# ----------------------------------------------------------------------------- end to end
def _same_cpu(record) -> bool:
    import torch

    from rllib_experiments.run.provenance import cpu_model

    made = record["provenance"]
    return made["cpu"] == cpu_model() and made["versions"]["torch"] == torch.__version__


def _close(a, b, rtol) -> bool:
    return math.isclose(a, b, rel_tol=rtol, abs_tol=1e-12)


@pytest.mark.rllib
@pytest.mark.slow
@pytest.mark.usefixtures("ray_local")
def test_the_committed_smoke_records_verify(tmp_path, capsys):
    pytest.importorskip("torch")
    from rllib_experiments.cli.verify import STUDIES, main
    from rllib_experiments.studies.common.verify import verify_records

    records = [json.loads(p.read_text()) for p in RECORDS]
    assert {r["kind"] for r in records} == {"learning", "baseline"}
    assert all(
        r["code"] and not r["code"]["dirty"] and r["budget_config"]["name"] == "smoke"
        for r in records
    )
    assert not Path(records[0]["run_folder"]).is_absolute()
    if all(_same_cpu(r) for r in records):
        print("verify smoke records: bit-identical comparison (the recording CPU)")
        assert main([*map(str, RECORDS), "--work", str(tmp_path)]) == 0
        out = capsys.readouterr().out
        assert "A__harmonic__s0: equal" in out and "A__aloha__s0: equal" in out
        assert "iter 6/6" in out  # progress while it runs
        _build_a_shipped_set(tmp_path, capsys)
        return
    print(
        "verify smoke records: other CPU or torch: discrete figures exactly, iteration 0 and "
        "the baseline to rtol 1e-4"
    )
    outcomes = verify_records(RECORDS, STUDIES, work=tmp_path)
    for rec, outcome in zip(records, outcomes):
        rerun = outcome.rerun
        for k in DISCRETE:
            if k in rec:
                assert rec[k] == rerun[k], (rec["trial"], k)
        if rec["kind"] == "baseline":
            assert rec["env_kwargs"] == rerun["env_kwargs"]
            assert _close(rec["final_reward"], rerun["final_reward"], 1e-4)
            continue
        assert [p["iteration"] for p in rec["curve"]] == [p["iteration"] for p in rerun["curve"]]
        for point, again in zip(rec["curve"], rerun["curve"]):
            for k, v in point.items():
                if k in DISCRETE:
                    assert v == again[k], (point["iteration"], k)
                elif k != "wall_s" and point["iteration"] == 0:
                    assert _close(v, again[k], 1e-4), (k, v, again[k])
                elif k != "wall_s":
                    assert math.isfinite(again[k]), (point["iteration"], k)


@pytest.mark.rllib
@pytest.mark.slow
@pytest.mark.usefixtures("ray_local")
def test_a_tampered_record_is_reported_at_its_iteration_and_figure(tmp_path, capsys):
    """A record made here (this CPU, this code), one curve value changed: verify names the
    iteration and the figure; ``--iterations-limit`` before the change says equal."""
    pytest.importorskip("torch")
    from rllib_experiments.cli.verify import main
    from rllib_experiments.studies.common.trials import run_row_trial
    from rllib_experiments.studies.table1.budgets import BUDGETS

    budget = dict(BUDGETS["smoke"], iterations=4)
    rec = run_row_trial("harmonic", "A", 0, budget, str(tmp_path / "raw"), str(tmp_path / "runs"))
    assert rec["resumed_at"] == [] and rec["budget_config"] == budget
    tampered = tmp_path / "tampered" / "trials" / "A__harmonic__s0.json"
    tampered.parent.mkdir(parents=True)
    rec["curve"][2]["reward_greedy"] = 12345.0  # iteration 4
    tampered.write_text(json.dumps(rec))
    capsys.readouterr()

    assert main([str(tampered)]) == 1
    out = capsys.readouterr().out
    assert "A__harmonic__s0: differs at iteration 4: reward_greedy 12345.0 (record) vs " in out, out
    assert "verify: 0 of 1 records equal; differ: A__harmonic__s0" in out

    assert main([str(tampered), "--iterations-limit", "2"]) == 0
    out = capsys.readouterr().out
    assert "A__harmonic__s0: equal (iterations 0-2)" in out and "stopped after 2 iterations" in out


def _build_a_shipped_set(work: Path, capsys) -> None:
    """``python -m rllib_experiments pretrained`` on the rerun's learning record (its run is on
    disk): int8 files, a manifest without machine paths, and numbers the set gives again."""
    from dsa_pettingzoo import pretrained
    from dsa_pettingzoo.evaluation import evaluate_policy
    from rllib_experiments.cli.pretrained import main as build

    (record,) = work.glob("*A__harmonic__s0/results/trials/A__harmonic__s0.json")
    into = work / "sets"
    into.mkdir()
    args = ["--record", str(record), "--name", "smoke-A", "--into", str(into)]

    def build_in_work(*more) -> int:
        here = os.getcwd()
        os.chdir(work)  # as from the repository root: the manifest names the record from there
        try:
            return build([*args, *more])
        finally:
            os.chdir(here)

    assert build_in_work() == 0
    manifest = json.loads((into / "smoke-A" / "manifest.json").read_text())
    assert manifest["trained_by"]["command"] == (
        "python -m rllib_experiments reproduce --budget smoke --rows harmonic --setups A --seeds 0"
    )
    assert str(work) not in json.dumps(manifest) and not any(
        str(work).encode() in p.read_bytes() for p in (into / "smoke-A").glob("*.dsaactor")
    )
    ev = manifest["evaluation"]
    stats = evaluate_policy(
        pretrained.ExportedPolicy(into / "smoke-A", greedy=False),
        100,
        seed=ev["seed"],
        **manifest["env"],
    )
    assert stats.summary()["mean_reward"] == ev["sampled"]["mean_reward"]
    # a second build is refused, then moves the first aside
    with pytest.raises(SystemExit):
        build_in_work()
    assert "argument --into: folder" in capsys.readouterr().err
    assert build_in_work("--overwrite") == 0
    again = json.loads((into / "smoke-A" / "manifest.json").read_text())
    assert again["files"] == manifest["files"]  # the same bytes: the run id comes from the record
