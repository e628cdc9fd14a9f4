"""Tests of the reproduce command (rllib_experiments.cli.reproduce, the runner of
rllib_experiments.studies.common.runner) and rllib_experiments.studies.table1.report.

The report is checked on hand-made raw CSVs (best seed, mean ± sample std, ratio
to the oracle, rebuilt from the CSVs alone); the command runs end to end on the
``smoke`` budget with a subset of rows into a tmp folder, writes every file, and
a second run finds every trial finished and reruns nothing.
"""

import csv
import json

import pytest

from rllib_experiments.studies.table1 import report
from rllib_experiments.cli.reproduce import main
from rllib_experiments.studies.common.runner import is_finished, plan_trials
from rllib_experiments.studies.table1.budgets import BUDGETS
from rllib_experiments.methods import ROWS


def test_plan_trials_seed_major_and_one_baseline_trial_per_setup():
    trials = plan_trials(BUDGETS["quick"], ["A", "B"], ["aloha", "dense", "harmonic"], [0, 1])
    assert trials[:2] == [
        dict(row="aloha", setup="A", seed=0),
        dict(row="aloha", setup="B", seed=0),
    ]
    learning = trials[2:]
    assert len(learning) == 2 * 2 * 2
    assert [t["seed"] for t in learning] == [0, 0, 0, 0, 1, 1, 1, 1]  # every row's seed 0 first


def test_is_finished_checks_budget(tmp_path):
    t = dict(row="dense", setup="A", seed=0)
    budget = dict(BUDGETS["quick"])
    assert not is_finished(tmp_path, t, budget)
    (tmp_path / "trials").mkdir()
    path = tmp_path / "trials" / "A__dense__s0.json"
    n = budget["iterations"]
    head = dict(trial="A__dense__s0", row="dense", setup="A", seed=0, kind="learning")
    path.write_text(json.dumps(dict(head, budget="quick", iterations=n)))
    assert is_finished(tmp_path, t, budget)
    # another iteration count or budget: refused, never rerun over the finished record
    with pytest.raises(ValueError, match="iterations"):
        is_finished(tmp_path, t, dict(budget, iterations=n + 100))
    path.write_text(json.dumps(dict(head, budget="smoke", iterations=n)))
    with pytest.raises(ValueError, match="another --output"):
        is_finished(tmp_path, t, budget)
    # Ours trains longer than the budget's iterations; its finished result says so.
    from rllib_experiments.methods.iagc_ppo import ours_iterations

    ours = dict(row="ours", setup="A", seed=0)
    p2 = tmp_path / "trials" / "A__ours__s0.json"
    head = dict(head, trial="A__ours__s0", row="ours", budget="quick")
    p2.write_text(json.dumps(dict(head, iterations=ours_iterations(n))))
    assert is_finished(tmp_path, ours, budget)


def _write(path, rows):
    with open(path, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=sorted({k for r in rows for k in r}))
        w.writeheader()
        w.writerows(rows)


def _trial(setup, row, seed, reward, kind="learning", label=None, **kw):
    return dict(
        setup=setup,
        row=row,
        seed=seed,
        final_reward=reward,
        kind=kind,
        label=label or row,
        final_reward_std=10.0,
        sparsity_prunable=kw.get("sp", ""),
        sparsity_all="",
        episodes_trained=300 if kind == "learning" else 0,
        iterations=300,
        eval_episodes=100,
        wall_s=5.0,
        budget="quick",
    )


def test_report_from_csv_only(tmp_path, plotted, check_png):
    trials = [
        _trial("A", "oracle", 0, 2000.0, kind="baseline", label="Oracle"),
        _trial("A", "aloha", 0, 1000.0, kind="baseline", label="Slotted Aloha"),
        _trial("A", "harmonic", 0, 1200.0, sp=0.95),
        _trial("A", "harmonic", 1, 1600.0, sp=0.95),
        _trial("A", "harmonic", 2, 1400.0, sp=0.95),
    ]
    _write(tmp_path / "trials.csv", trials)
    curves = [
        dict(setup="A", row="harmonic", seed=s, iteration=i, episodes=i, reward=r + i)
        for s, r in [(0, 800.0), (1, 900.0), (2, 1000.0)]
        for i in (0, 10, 20)
    ]
    _write(tmp_path / "curves.csv", curves)
    with pytest.raises(ValueError, match="A / harmonic: unknown code .3 seeds.*--allow-mixed"):
        report.build_report(tmp_path, tmp_path / "table1.md", tmp_path / "fig")
    # a CSV keeps no commit: its seeds' code is unknown, pooled only when told to, and marked
    summary = report.build_report(tmp_path, tmp_path / "table1.md", tmp_path / "fig", True)
    h = summary["A"]["harmonic"]
    assert (h["best"], h["best_seed"], h["n"]) == (1600.0, 1, 3)
    assert h["mean"] == pytest.approx(1400.0)
    assert h["std"] == pytest.approx(200.0)  # sample std of 1200, 1400, 1600
    text = (tmp_path / "table1.md").read_text()
    assert (
        "| 1826.86 | 1600.00 (seed 1) | 1400.00 ± 200.00 | 3 † | 0.800 | 0.700 | 0.913 | stochastic |"
        in text
    )
    assert f"- † {h['label']}: unknown code (3 seeds)" in text
    assert "reproduce --report-only --allow-mixed-commits`" in text
    assert "| Slotted Aloha | 993.77 | 1000.00 |" in text
    check_png(tmp_path / "fig" / "training_curves_A.png", 1540, 770)  # 14 x 7 in at 110 dpi
    left, right = plotted["training_curves_A.png"]
    for panel in (left, right):
        (curve,) = [
            xy
            for label, xy in panel.items()
            if label.startswith(ROWS["harmonic"].label + " (3 seeds")
        ]
        assert curve[0].tolist() == [0, 10, 20]  # training episodes (1 per iteration here)
        assert curve[1].tolist() == [900.0, 910.0, 920.0]  # mean of 800, 900, 1000 (+ iteration)
    # the best baseline rewards as reference lines; the zoomed panel leaves the oracle out
    assert left["Oracle: 2000"][1].tolist() == [2000.0, 2000.0]
    assert (
        left["Slotted Aloha: 1000"][1].tolist()
        == right["Slotted Aloha: 1000"][1].tolist()
        == [1000.0] * 2
    )
    assert not any(label.startswith("Oracle") for label in right)


def test_ablation_section_and_figure(tmp_path, plotted, check_png):
    g = lambda setup, row, seed, r: dict(
        _trial(setup, row, seed, r, sp=0.95),
        final_greedy=r,
        final_stochastic=r - 100.0,
        eval_mode="greedy",
    )
    trials = [
        _trial("A", "oracle", 0, 2600.0, kind="baseline", label="Oracle"),
        g("A", "ours", 0, 2580.0),
        g("A", "ours", 1, 2590.0),
        g("A", "ours", 2, 2000.0),
        g("A", "ours_paper_critic", 0, 2380.0),
        g("A", "ours_paper_critic", 1, 2410.0),
        g("A", "ours_dense", 3, 2500.0),
    ]
    _write(tmp_path / "trials.csv", trials)
    curves = [
        dict(
            setup="A",
            row=row,
            seed=s,
            iteration=i,
            episodes=8 * i,
            reward=1000.0 + i,
            reward_greedy=1000.0 + i,
            reward_stochastic=900.0,
        )
        for row, seeds in [("ours", (0, 1)), ("ours_paper_critic", (0, 1))]
        for s in seeds
        for i in (0, 10, 20)
    ]
    _write(tmp_path / "curves.csv", curves)
    report.build_report(tmp_path, tmp_path / "table1.md", tmp_path / "fig", True)
    text = (tmp_path / "table1.md").read_text()
    main_table, ablation = text.split("### Ablation of ours, setup A")
    assert "paper's critic" not in main_table  # ablations stay out of Table I
    # (2380 + 2410) / 2 - (2580 + 2590) / 2 = -190 on the common seeds 0, 1
    # differences -200, -180: s = 14.14, t_{0.975, 1} = 12.706: -190 ± 127.1
    assert "| 2395.00 ± 21.21 | 2 † | -190.0 [-317.1, -62.9] (seeds 0, 1) | 2295.00 |" in ablation
    assert "– (no common seed)" in ablation  # ours_dense ran seed 3 only
    check_png(tmp_path / "fig" / "ablation_A.png", 990, 715)  # 9 x 6.5 in at 110 dpi
    (lines,) = plotted["ablation_A.png"]
    # ours on the ablation's seeds 0 and 1 only (its seed 2 ran no ablation), 8 episodes an iteration
    assert sorted(lines) == sorted(
        f"{ROWS[k].label} (seeds 0, 1; 160 episodes)" for k in ("ours", "ours_paper_critic")
    )
    for x, y in lines.values():
        assert x.tolist() == [0, 10, 20] and y.tolist() == [1000.0, 1010.0, 1020.0]


def test_rows_groups_expand_in_table_order():
    from rllib_experiments.methods import GROUPS, ROWS, expand_rows

    assert expand_rows(["table"]) == GROUPS["table"] and "ours" in GROUPS["table"]
    assert all(k.startswith("ours_") for k in GROUPS["ablation"]) and GROUPS["ablation"]
    assert expand_rows(["ours_dense", "aloha", "aloha"]) == ["aloha", "ours_dense"]
    assert set(expand_rows(["table", "ablation"])) == set(ROWS)
    with pytest.raises(ValueError, match="allowed"):
        expand_rows(["nope"])


def test_ablation_settings_change_one_thing_each():
    from rllib_experiments.methods import get_row
    from rllib_experiments.methods.iagc_ppo import ABLATIONS, ours_settings
    from rllib_experiments.studies.common.trials import base_settings

    base = base_settings(BUDGETS["quick"], "A", 0)
    ours = ours_settings(base)
    assert (ours.iterations, ours.episodes_per_iteration) == (300, 8)  # 2400 episodes
    for change, fields in ABLATIONS.items():
        s = get_row(f"ours_{change}").settings(base)
        differ = {f for f in ours.__dataclass_fields__ if getattr(s, f) != getattr(ours, f)}
        assert differ == set(fields), change


def test_cli_rejects_bad_flags(capsys):
    for argv, message in (
        (["--rows", "bogus", "--output", "/nonexistent/x"], "argument --rows: unknown"),
        (["--budget", "huge"], "argument --budget: invalid choice"),
        (["--report-only", "--output", "/nonexistent/x"], "holds no raw results"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            main(argv)
        assert exit_info.value.code == 2
        assert message in capsys.readouterr().err


@pytest.mark.rllib
@pytest.mark.slow
def test_smoke_end_to_end_and_resume(tmp_path, capsys):
    out = tmp_path / "raw"
    args = [
        "--budget",
        "smoke",
        "--setups",
        "A",
        "--rows",
        "oracle",
        "pai50",
        "--output",
        str(out),
        "--num-cpus",
        "2",
        "--tune-dir",
        str(tmp_path / "tune"),
        "--allow-mixed-commits",  # the records say whether the tree under test is dirty
    ]
    assert main(args) == 0
    for name in (
        "trials.csv",
        "curves.csv",
        "runs.jsonl",
        "table1.md",
        "training_curves_A.png",
        "sparsity_schedules.png",
    ):
        assert (out / name).is_file(), name
    with open(out / "trials.csv") as f:
        rows = {r["row"]: r for r in csv.DictReader(f)}
    assert set(rows) == {"oracle", "pai50"}
    assert float(rows["pai50"]["sparsity_prunable"]) == pytest.approx(0.5, abs=0.01)
    assert 0 < float(rows["pai50"]["final_reward"]) <= float(rows["oracle"]["final_reward"]) + 1e-6
    assert int(rows["pai50"]["episodes_trained"]) == 6 * 4  # 6 iterations of 4 tiny episodes
    with open(out / "curves.csv") as f:
        its = [int(r["iteration"]) for r in csv.DictReader(f) if r["row"] == "pai50"]
    assert its == [0, 2, 4, 6]
    table = (out / "table1.md").read_text()
    assert "PaI [18] (50%)" in table and "budget **smoke**" in table
    capsys.readouterr()
    # Second run: everything finished, nothing rerun, the report is rebuilt.
    assert main(args) == 0
    assert "2 already finished, 0 to run" in capsys.readouterr().out
    (out / "table1.md").unlink()
    assert main(["--report-only", "--output", str(out), "--allow-mixed-commits"]) == 0
    assert (out / "table1.md").read_text().count("PaI [18] (50%)") == 1


def test_record_writer_stores_trial_records_on_the_driver(tmp_path):
    from rllib_experiments.studies.common.runner import RECORD_KEY, Layout, record_writer

    writer = record_writer(Layout(tmp_path, {}).record_path)
    rec = {"setup": "B", "row": "dense", "seed": 4, "final_reward": 1.5}
    writer.on_trial_result(iteration=1, trials=[], trial=None, result={"iteration": 3})
    assert not (tmp_path / "trials").exists()  # progress reports carry no record
    writer.on_trial_result(iteration=1, trials=[], trial=None, result={RECORD_KEY: json.dumps(rec)})
    assert json.loads((tmp_path / "trials" / "B__dense__s4.json").read_text()) == rec
