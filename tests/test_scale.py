"""The scale study (python -m rllib_experiments scale): its report on made-up records, its flags,
its trial order, and one tiny end-to-end run that a second run resumes without running anything."""

import csv
import json
import math

import pytest

from rllib_experiments.cli import scale
from rllib_experiments.studies.scale import budgets, outputs
from rllib_experiments.studies.scale import trials as scale_trials
from rllib_experiments.studies.common.figures import DPI
from rllib_experiments.studies.scale.report import build_report
from rllib_experiments.studies.scale.stats import CSV_COLUMNS


def _write(folder, rec):
    path = folder / f"N{rec['num_users']}" / "trials" / f"{rec['trial']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rec))


def _ours(setup, n, seed, reward, cpu=None, iterations=300):
    rec = dict(
        trial=f"{setup}__ours__s{seed}",
        row="ours",
        setup=setup,
        seed=seed,
        kind="learning",
        budget="scale",
        final_reward=reward,
        final_reward_std=1.0,
        iterations=iterations,
        episodes_trained=8 * iterations,
        oracle_reference=-1.0,
        wall_s=50.0,
        env_kwargs={"setup": setup, "num_users": n, "num_channels": n // 2},
        num_users=n,
        code={"commit": "4ce252da137447a0e9678c48b958c3ab79a2a71e", "dirty": False},
    )
    if cpu is not None:
        rec["cpu_s"] = cpu
    return rec


def _baseline(setup, n, name, reward, std):
    return dict(
        trial=f"{setup}__{name}__s0",
        row=name,
        setup=setup,
        seed=0,
        kind="baseline",
        budget="scale",
        final_reward=reward,
        final_reward_std=std,
        iterations=0,
        episodes_trained=0,
        wall_s=2.0,
        cpu_s=1.5,
        num_users=n,
        env_kwargs={"setup": setup, "num_users": n, "num_channels": n // 2},
    )


#: (setup, N): ours' seed rewards, the oracle, the best decentralized baseline (musical chairs)
CELLS = {
    ("A", 10): ([960.0, 970.0, 980.0, 990.0, 1000.0], 1000.0, 900.0),  # met
    ("A", 20): ([1500.0, 1700.0], 2000.0, 1800.0),  # short: 0.8 of the oracle, below MC
    ("B", 10): ([700.0, 800.0, 900.0], 1000.0, 600.0),
    ("B", 20): ([1900.0], 2000.0, 1000.0),
}  # one seed: no std over seeds


@pytest.fixture
def made_up(tmp_path):
    out = tmp_path / "raw"
    for (setup, n), (rewards, oracle, mc) in CELLS.items():
        for seed, r in enumerate(rewards):
            # seed 1 of (A, 20) predates cpu_s: its wall time counts instead
            cpu = None if (setup, n, seed) == ("A", 20, 1) else 100.0 * n + seed
            _write(out, _ours(setup, n, seed, r, cpu))
        _write(out, _baseline(setup, n, "oracle", oracle, 5.0))
        _write(out, _baseline(setup, n, "musical_chairs", mc, 30.0))
        _write(out, _baseline(setup, n, "aloha", 0.4 * oracle, 40.0))
    probe = tmp_path / "probe"
    for n, cpu in ((10, 100.0), (20, 180.0)):  # 8 s per user + 20 s, at 30 iterations
        _write(probe, _ours("A", n, 0, 1.0, cpu, iterations=30))
    (probe / "scale_runs.jsonl").write_text(json.dumps({"command": "python -m probe"}) + "\n")
    return out, probe


def test_report_on_made_up_records(made_up, tmp_path, plotted, check_png):
    out, probe = made_up
    md, csv_path, figs = tmp_path / "scale.md", tmp_path / "scale.csv", tmp_path / "figs"
    build_report(out, md, csv_path, figs, probe_dir=probe)

    with open(csv_path) as f:
        reader = csv.DictReader(f)
        assert tuple(reader.fieldnames) == CSV_COLUMNS
        rows = {(r["setup"], int(r["num_users"]), r["method"]): r for r in reader}
    assert len(rows) == 4 * 4
    for (setup, n), (rewards, oracle, mc) in CELLS.items():
        ours = rows[(setup, n, "ours")]
        mean = sum(rewards) / len(rewards)
        assert float(ours["mean"]) == pytest.approx(mean, rel=1e-5)
        if len(rewards) > 1:
            sd = math.sqrt(sum((r - mean) ** 2 for r in rewards) / (len(rewards) - 1))
            assert float(ours["std"]) == pytest.approx(sd, rel=1e-5)
        else:
            assert ours["std"] == ""
        assert int(ours["seeds"]) == len(rewards)
        assert int(ours["num_channels"]) == n // 2
        assert float(ours["oracle_mean"]) == oracle
        assert float(ours["ratio_to_oracle"]) == pytest.approx(mean / oracle, rel=1e-5)
        assert int(ours["episodes_trained"]) == 2400
        base = rows[(setup, n, "musical_chairs")]
        assert (base["seeds"], float(base["std"]), float(base["mean"])) == ("", 30.0, mc)
        assert float(base["trial_cpu_s"]) == 1.5 and int(base["episodes_trained"]) == 0
    # CPU per run: mean over seeds, the wall time where cpu_s is missing
    assert float(rows[("A", 20, "ours")]["trial_cpu_s"]) == pytest.approx((2000.0 + 50.0) / 2)
    assert float(rows[("A", 10, "ours")]["trial_cpu_s"]) == pytest.approx(1002.0)

    text = md.read_text()
    assert "**Met by ours in 1 of 4 cells with records** (the study has 12)" in text
    # (A, 20): ours 1600 of 2000 = 0.8: short by 0.15, 0.95 * 2000 - 1600 = 300; musical chairs above
    assert (
        "| A | 20 | 10 | ours (IAGC-PPO 95 %) | 2 (of 5) | 0.800 | musical chairs (0.900) | -200.0 | no | no | 0.150; 300.0 | s0: 0.750, s1: 0.850 |"
        in text
    )
    assert (
        "| A | 10 | 5 | ours (IAGC-PPO 95 %) | 5 | 0.980 | musical chairs (0.900) | 80.0 | yes | yes | – | – |"
        in text
    )
    assert "1 of 23 records lack it" in text
    # reward / oracle in B: ours over 3 seeds (std 100 / oracle 1000), then over one seed: no std
    assert "| ours (IAGC-PPO 95 %) | 0.800 ± 0.100 | 0.950 ± – |" in text
    # cost: probe fit 8 N + 20 CPU s at 30 iterations, x10 for 300: N = 100 -> 8200 s = 2.28 h
    assert "N = 100: 2.28 h" in text and "measured on a loaded machine" in text
    assert "`python -m probe`" in text
    assert "reward** (its records'" not in text  # ours trained on the sum rate: no note

    ratio, cost = plotted["scale_ratio.png"], plotted["scale_cost.png"]
    assert len(ratio) == 2  # one panel per setup
    x, y = ratio[0]["ours (IAGC-PPO 95 %)"]
    assert list(x) == [10, 20] and y == pytest.approx([0.98, 0.8])
    x, y = ratio[1]["musical chairs"]
    assert y == pytest.approx([0.6, 0.5])
    x, y = cost[0]["setup B (mean over seeds)"]
    assert list(x) == [10, 20] and y == pytest.approx([1001.0, 2000.0])
    # 3.4 in of panel + a legend of 0.25 in and 0.17 in per row: 2 rows (ours, baselines,
    # goal in 4 columns), at every figure's DPI (matplotlib truncates to whole pixels).
    check_png(figs / "scale_ratio.png", int(DPI * 8.0), int(DPI * (3.4 + 0.25 + 2 * 0.17)))
    check_png(figs / "scale_cost.png", int(DPI * 4.0), int(DPI * 3.4))


def test_report_says_when_ours_trained_on_another_reward(tmp_path):
    out = tmp_path / "raw"
    rec = _ours("A", 10, 0, 950.0, 10.0)
    rec["env_kwargs"]["reward"] = "difference"
    _write(out, rec)
    _write(out, _baseline("A", 10, "oracle", 1000.0, 5.0))
    md = tmp_path / "scale.md"
    build_report(out, md, tmp_path / "scale.csv", tmp_path, probe_dir=tmp_path / "none")
    assert "**Ours trains on the `difference` reward**" in md.read_text()


def test_trials_run_seed_major_after_the_baselines():
    trials = scale_trials.plan_trials([10, 20], ["A", "B"], [0, 1])
    baselines = [t for t in trials if t["row"] != "ours"]
    assert trials[: len(baselines)] == baselines and len(baselines) == 2 * 2 * len(
        scale_trials.BASELINES
    )
    ours = trials[len(baselines) :]
    assert {(t["num_users"], t["setup"]) for t in ours[:4]} == {
        (10, "A"),
        (10, "B"),
        (20, "A"),
        (20, "B"),
    }
    assert [t["seed"] for t in ours] == [0] * 4 + [1] * 4


def test_budget_per_size_names_its_preset():
    b = budgets.budget_for(budgets.BUDGETS["scale"], 50)
    assert b["preset"].format(setup="C") == "scale_C_N50" and b["num_users"] == 50
    smoke = budgets.budget_for(budgets.BUDGETS["smoke"], 6)
    assert smoke["overrides"] == {"env": {"horizon": 20, "num_users": 6, "num_channels": 3}}


def test_bf16_budget_is_the_study_under_autocast_in_its_own_folder(tmp_path):
    from rllib_experiments.studies.common.trials import base_settings

    f32, bf16 = (budgets.budget_for(budgets.BUDGETS[b], 20) for b in ("scale", "scale_bf16"))
    assert {k: v for k, v in bf16.items() if k not in ("name", "overrides")} == {
        k: v for k, v in f32.items() if k != "name"
    }
    s32, s16 = (base_settings(b, "C", 3) for b in (f32, bf16))
    assert (s32.autocast_bf16, s16.autocast_bf16) == (False, True)
    assert s16.to_dict() == dict(s32.to_dict(), autocast_bf16=True)
    # each budget's default records folder is its own
    assert outputs.DEFAULT_OUTPUTS["scale_bf16"] != outputs.DEFAULT_OUTPUTS["scale"]
    (tmp_path / "N10" / "trials").mkdir(parents=True)
    (tmp_path / "N10" / "trials" / "A__aloha__s0.json").write_text("{}")  # --report-only needs one
    args, budget, _ = scale.resolve(
        [
            "--budget",
            "scale_bf16",
            "--sizes",
            "10",
            "--setups",
            "A",
            "--report-only",
            "--output",
            str(tmp_path),
        ]
    )
    assert args.output == str(tmp_path)


def test_difference_budget_changes_only_the_training_reward():
    from rllib_experiments.studies.common.trials import base_settings

    bf16, diff = (
        budgets.budget_for(budgets.BUDGETS[b], 50) for b in ("scale_bf16", "scale_bf16_difference")
    )
    s16, sd = (base_settings(b, "B", 1) for b in (bf16, diff))
    assert sd.env_kwargs() == dict(s16.env_kwargs(), reward="difference")
    assert sd.to_dict() == dict(s16.to_dict(), env=dict(s16.env, reward="difference"))
    assert len({str(o) for o in outputs.DEFAULT_OUTPUTS.values()}) == len(outputs.DEFAULT_OUTPUTS)


def test_smoke_budget_needs_an_output(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        scale.main(["--budget", "smoke", "--sizes", "4"])
    assert exit_info.value.code == 2
    assert "argument --output" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


BAD = [
    (["--sizes", "3"], "--sizes"),
    (["--sizes", "30"], "--sizes"),
    (["--sizes", "0"], "--sizes"),
    (["--sizes", "x"], "--sizes"),
    (["--setups", "Z"], "--setups"),
    (["--seeds", "-1"], "--seeds"),
    (["--seeds", "1", "1"], "--seeds"),
    (["--iterations", "0"], "--iterations"),
    (["--num-cpus", "0"], "--num-cpus"),
    (["--max-concurrent", "x"], "--max-concurrent"),
    (["--budget", "huge"], "--budget"),
    (["--report-only", "--output", "no/such"], "--output"),
    (["--reference", "no/such"], "--reference"),
]


@pytest.mark.parametrize("argv, flag", BAD, ids=[" ".join(a) for a, _ in BAD])
def test_bad_flag_exits_2_naming_it(argv, flag, tmp_path, monkeypatch, capsys):
    ray = pytest.importorskip("ray")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        scale.main(argv + ([] if "--output" in argv else ["--output", str(tmp_path / "o")]))
    assert exit_info.value.code == 2
    assert f"argument {flag}" in capsys.readouterr().err
    assert not ray.is_initialized()
    assert list(tmp_path.iterdir()) == []


def test_foreign_folders_are_refused(tmp_path, capsys):
    reproduce = tmp_path / "r"
    reproduce.mkdir()
    (reproduce / "runs.jsonl").write_text("{}\n")
    other_budget = tmp_path / "s"
    _write(other_budget, dict(_baseline("A", 4, "aloha", 1.0, 1.0), budget="scale"))
    for folder, says in ((reproduce, "output of reproduce"), (other_budget, "budget 'scale'")):
        with pytest.raises(SystemExit) as exit_info:
            scale.main(
                ["--budget", "smoke", "--sizes", "4", "--setups", "A", "--output", str(folder)]
            )
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert "argument --output" in err and says in err, err


@pytest.mark.rllib
@pytest.mark.slow
def test_tiny_study_end_to_end_then_resumes_without_running(
    tmp_path, monkeypatch, capsys, check_png
):
    out = tmp_path / "out"
    argv = [
        "--budget",
        "smoke",
        "--sizes",
        "4",
        "--setups",
        "A",
        "--seeds",
        "0",
        "--output",
        str(out),
        "--runs-dir",
        str(tmp_path / "runs"),
        "--tune-dir",
        str(tmp_path / "tune"),
        "--num-cpus",
        "1",
        "--allow-mixed-commits",  # the records say whether the tree under test is dirty
    ]
    assert scale.main(argv) == 0
    records = {p.name: json.loads(p.read_text()) for p in (out / "N4" / "trials").glob("*.json")}
    assert set(records) == {
        "A__ours__s0.json",
        *(f"A__{b}__s0.json" for b in scale_trials.BASELINES),
    }
    ours = records["A__ours__s0.json"]
    assert ours["env_kwargs"] == {"setup": "A", "num_users": 4, "num_channels": 2, "horizon": 20}
    assert ours["iterations"] == 3 and ours["episodes_trained"] == 24 and ours["num_users"] == 4
    assert 0 < ours["cpu_s"] and ours["sparsity_prunable"] == pytest.approx(0.95, abs=0.01)
    assert all(r["eval_seed"] == 12345 and r["eval_episodes"] == 4 for r in records.values())
    # the final evaluation's statistics, greedy = the record's own final reward
    assert ours["final_summary"]["greedy"]["mean_reward"] == ours["final_greedy"]
    assert set(ours["final_summary"]["greedy"]) >= {
        "collision_rate",
        "idle_rate",
        "successes_per_slot",
    }
    with open(out / "scale.csv") as f:
        rows = list(csv.DictReader(f))
    assert [r["method"] for r in rows][0] == "ours" and len(rows) == 1 + len(scale_trials.BASELINES)
    # One panel: 2 legend columns, ours, its seeds (dots), every baseline and the goal in 6 rows.
    assert math.ceil((2 + len(scale_trials.BASELINES) + 1) / 2) == 6
    check_png(out / "scale_ratio.png", int(DPI * 4.0), int(DPI * (3.4 + 0.25 + 6 * 0.17)))
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "N4" / "trials").glob("*.json")}

    def no_tune(*args, **kwargs):
        raise AssertionError("a finished study started trials")

    from rllib_experiments.studies.common import runner

    monkeypatch.setattr(runner, "run_tune", no_tune)
    capsys.readouterr()
    assert scale.main(argv) == 0
    assert "9 already finished, 0 to run" in capsys.readouterr().out
    assert {p: p.stat().st_mtime_ns for p in (out / "N4" / "trials").glob("*.json")} == mtimes
    assert len((out / "scale_runs.jsonl").read_text().splitlines()) == 2
    assert float(rows[0]["mean"]) == pytest.approx(ours["final_reward"], rel=1e-5)

    # ours_from_A: the A run's final actors, unchanged, in setup B (no training; A's cost)
    transfer = ["--transfer-only", "--setups", "B"] + [
        a for a in argv if a not in ("--setups", "A")
    ]
    assert scale.main(transfer) == 0
    assert "1 records of ours_from_A and 8 of baselines written" in capsys.readouterr().out
    moved = json.loads((out / "N4" / "trials" / "B__ours_from_A__s0.json").read_text())
    assert moved["replay_in_A"] == pytest.approx(ours["final_greedy"], abs=1e-6)
    assert moved["env_kwargs"]["setup"] == "B" and moved["source_trial"] == "A__ours__s0"
    assert (moved["episodes_trained"], moved["cpu_s"]) == (24, ours["cpu_s"])
    assert moved["final_summary"]["greedy"]["mean_reward"] == moved["final_reward"]
    with open(out / "scale.csv") as f:
        b_rows = {r["method"]: r for r in csv.DictReader(f) if r["setup"] == "B"}
    assert set(b_rows) == {
        "ours_from_A",
        *scale_trials.BASELINES,
    }  # B's own baselines, on B's episodes
    assert float(b_rows["ours_from_A"]["mean"]) == pytest.approx(moved["final_reward"], rel=1e-5)
    assert "ours trained in A (95 %)" in (out / "scale.md").read_text()
    assert scale.main(transfer) == 0  # on record: nothing is evaluated again
    assert "0 records of ours_from_A and 0 of baselines written" in capsys.readouterr().out


def test_benchmark_cost_by_hand(tmp_path):
    from rllib_experiments.studies.scale import report as sr

    record = {
        "command": "bench",
        "measured_at": "now",
        "scale": [
            {"num_users": 10, "driver_cpu_s_per_iteration_single": 2.0},
            {"num_users": 20, "driver_cpu_s_per_iteration_single": 4.0},
        ],
    }
    # 300 iterations: N = 10 600 s, N = 20 1200 s; 3 runs per size: 5400 s; N = 50 missing
    est = sr.benchmark_cost(record, sizes=(10, 20, 50), runs_per_size=3, iterations=300)
    assert est["per_run"] == {10: 600.0, 20: 1200.0}
    assert est["total"] == 5400.0 and est["missing"] == [50]
    (tmp_path / "2026-01-01.json").write_text(json.dumps(record))
    line = sr._benchmark_cost_lines(tmp_path)[0]
    assert "N = 10: 0.17 h, N = 20: 0.33 h" in line and "`bench`" in line
    assert sr._benchmark_cost_lines(tmp_path / "none") == []


def test_seeds_below_the_goal_are_named_by_seed_and_described(tmp_path):
    """A cell whose seeds are 0, 2, 3 (seed 1 missing) names the failing seed 3, not index 2, and
    shows what its greedy actors did beside the oracle and the cell's best seed."""
    out = tmp_path / "raw"
    summary = lambda acks, coll: {
        "successes_per_slot": acks,
        "collision_rate": coll,
        "pu_blocked_rate": 0.0,
        "idle_rate": 0.5,
        "utilisation_free": acks / 5,
        "jain_fairness": 0.5,
    }
    for seed, reward in ((0, 990.0), (2, 980.0), (3, 500.0)):
        rec = _ours("C", 10, seed, reward, cpu=1.0)
        if seed != 2:  # seed 2 predates final_summary
            rec["final_summary"] = {
                "greedy": summary(5.0 * reward / 1000, 0.0 if seed == 0 else 0.25)
            }
        _write(out, rec)
    oracle = _baseline("C", 10, "oracle", 1000.0, 5.0)
    oracle["summary"] = summary(5.0, 0.0)
    _write(out, oracle)
    _write(out, _baseline("C", 10, "musical_chairs", 800.0, 30.0))
    md = tmp_path / "scale.md"
    build_report(out, md, tmp_path / "scale.csv", tmp_path / "figs", probe_dir=tmp_path / "none")
    text = md.read_text()
    assert "| s3: 0.500 |" in text
    assert "## What the seeds below the goal did" in text
    assert "| C | 10 | 5 | oracle | 1.000 | 5.00 | 0.000 |" in text
    assert "| C | 10 | 5 | ours seed 0 (best) | 0.990 | 4.95 | 0.000 |" in text
    assert "| C | 10 | 5 | ours seed 3 | 0.500 | 2.50 | 0.250 |" in text
    assert "ours seed 2 |" not in text  # it met the goal and is not the best


def test_reference_flag_picks_the_folder_to_pair_with(tmp_path, capsys):
    here, there = tmp_path / "longer", tmp_path / "bf16"
    for folder, reward in ((here, 900.0), (there, 800.0)):
        _write(folder, dict(_ours("A", 10, 0, reward), budget="scale_bf16"))
        _write(folder, _baseline("A", 10, "oracle", 1000.0, 5.0))
    assert (
        scale.main(
            [
                "--budget",
                "scale_bf16",
                "--report-only",
                "--output",
                str(here),
                "--reference",
                str(there),
            ]
        )
        == 0
    )
    text = (here / "scale.md").read_text()
    assert "## Against the records in `../bf16`" in text  # the md lies in OUTPUT
    assert "| 0.900 | 0.800 | +100.0 " in text
    before = (here / "scale.md").read_text()
    with pytest.raises(SystemExit) as exit_info:
        scale.main(
            [
                "--budget",
                "scale_bf16",
                "--report-only",
                "--output",
                str(here),
                "--reference",
                str(here),
            ]
        )
    assert exit_info.value.code == 2
    assert "argument --reference" in capsys.readouterr().err
    assert (here / "scale.md").read_text() == before


def test_report_pairs_ours_with_a_reference_folder_by_seed(tmp_path):
    from rllib_experiments.studies.scale.stats import load_records, paired_with

    here, there = tmp_path / "bf16", tmp_path / "f32"
    for seed, (a, b) in enumerate([(900.0, 880.0), (950.0, 960.0), (700.0, 650.0)]):
        _write(here, dict(_ours("A", 10, seed, a, cpu=100.0), budget="scale_bf16"))
        _write(there, _ours("A", 10, seed, b, cpu=200.0 + seed))
    _write(there, _ours("A", 10, 3, 999.0, cpu=1.0))  # no partner: left out
    for folder in (here, there):  # the same evaluation episodes: the same oracle
        _write(folder, _baseline("A", 10, "oracle", 1000.0, 5.0))
    (p,) = paired_with(load_records(here), load_records(there))
    # differences +20, -10, +50: mean 20; ratios 850 / 1000 and 830 / 1000; CPU 100 and 201
    assert p["seeds"] == [0, 1, 2] and p["diff"] == pytest.approx(20.0)
    assert p["ratio"] == pytest.approx(0.85) and p["ratio_reference"] == pytest.approx(0.83)
    assert (p["cpu"], p["cpu_reference"]) == (100.0, pytest.approx(201.0))
    # its t-interval: s = 30 over 3 pairs, 20 ± t_{0.975, 2} x 30 / sqrt(3) = 20 ± 74.5
    half = 4.302653 * 30.0 / 3**0.5
    assert p["ci"] == pytest.approx((20.0 - half, 20.0 + half), abs=1e-4)
    assert (p["budget"], p["budget_reference"]) == ("scale_bf16, 300 it.", "scale, 300 it.")
    md = tmp_path / "scale.md"
    build_report(
        here,
        md,
        tmp_path / "scale.csv",
        tmp_path / "figs",
        probe_dir=tmp_path / "none",
        reference=there,
    )
    text = md.read_text()
    assert "## Against the records in `f32`" in text
    assert (
        "| A | 10 | 0, 1, 2 | scale_bf16, 300 it. / scale, 300 it. | 0.850 | 0.830 | +20.0 ["
        in text
    )
    assert "| 100 / 201 |" in text
