"""Tests of the one Table I (rllib_experiments.studies.table1.one_table) on hand-made records.

The values are derived by hand: seeds [1000, 1100, 1200] have mean 1100, sample std 100 and the
95 % t-interval 1100 ± t_(0.975, 2) x 100 / sqrt(3) = 1100 ± 4.302653 x 57.735 = 1100 ± 248.41,
[851.6, 1348.4]; the best seed is the one of 1200. A folder with only some records (the reruns
go on across sessions) gives the table of what is there; a row pooling seeds of two commits is
refused unless the report is told to pool them.
"""

import csv
import json

import pytest

from rllib_experiments.cli.reproduce import main
from rllib_experiments.methods import ROWS
from rllib_experiments.studies.common.found_rows import SEARCH_A_BEST
from rllib_experiments.studies.common.pooling import MixedCodeError
from rllib_experiments.studies.table1 import one_table

COMMIT = "abc1234" + "0" * 33


def _record(folder, setup, row, seed, reward, kind="learning", commit=COMMIT, **extra):
    rec = dict(
        trial=f"{setup}__{row}__s{seed}",
        setup=setup,
        row=row,
        seed=seed,
        kind=kind,
        label=row,
        budget="paper",
        final_reward=reward,
        final_reward_std=10.0,
        eval_mode="stochastic",
        eval_episodes=100,
        iterations=1000 if kind == "learning" else 0,
        episodes_trained=1000 if kind == "learning" else 0,
        wall_s=300.0,
        code={"commit": commit, "dirty": False},
        curve=[],
    )
    rec.update(extra)
    (folder / "trials").mkdir(parents=True, exist_ok=True)
    (folder / "trials" / f"{setup}__{row}__s{seed}.json").write_text(json.dumps(rec))


def _partial_folder(folder):
    _record(folder, "A", "oracle", 0, 2600.0, kind="baseline")
    _record(folder, "A", "aloha", 0, 990.0, kind="baseline")
    for seed, reward in enumerate([1000.0, 1100.0, 1200.0]):
        _record(
            folder,
            "A",
            "dense",
            seed,
            reward,
            final_stochastic=reward,
            final_greedy=reward + 50.0,
            sparsity_all=0.0,
        )
    _record(
        folder,
        "A",
        "ours",
        4,
        2000.0,
        eval_mode="greedy",
        final_greedy=2000.0,
        final_stochastic=1900.0,
        sparsity_all=0.9,
    )
    _record(folder, "A", SEARCH_A_BEST, 0, 1500.0, final_greedy=1450.0, sparsity_all=0.8)


def _lines(text, key):
    return [line for line in text.splitlines() if f"| `{key}` |" in line]


def test_partial_folder_every_row_its_seeds_and_the_t_interval(tmp_path, plotted, check_png):
    _partial_folder(tmp_path)
    rows = one_table.build_one_table(tmp_path, tmp_path / "table1.md", tmp_path)
    text = (tmp_path / "table1.md").read_text()
    assert "95 % t-interval of the mean over seeds" in text  # the header names the interval
    (dense,) = _lines(text, "dense")
    assert dense == (
        "| Dense IAGC PPO | `dense` | 1556.83 | 3 of 10 (partial: seeds 3-9 not yet run) "
        "| 1200.00 (seed 2) | 1100.00 ± 100.00 [851.6, 1348.4] | stochastic | 1150.00 | 0.000 "
        "| abc1234, clean |"
    )
    (ours,) = _lines(text, "ours")  # one seed: no std, no interval; greedy is its eval mode
    assert ours == (
        "| IAGC PPO (95%, ours) | `ours` | – | 1 of 10 (partial: seeds 0-3, 5-9 not yet run) "
        "| 2000.00 (seed 4) | 2000.00 (one seed) | greedy | 2000.00 | 0.900 | abc1234, clean |"
    )
    (aloha,) = _lines(text, "aloha")  # a baseline: one evaluation, ± over the episodes
    assert aloha.startswith(
        "| Slotted Aloha | `aloha` | 993.77 | one evaluation | 990.00 | 990.00 ± 10.00 (over "
        "episodes) | – | – | – | abc1234, clean |"
    )
    (found,) = _lines(text, "search_A_best")
    assert "| 1 of 10 (partial: seeds 1-9 not yet run) | 1500.00 (seed 0) |" in found
    (iagc,) = _lines(text, "iagc")
    assert "| not yet run (0 of 10) | – |" in iagc
    (oca,) = _lines(text, "oca")
    assert "| not yet run | – |" in oca
    # the paper's order, then ours and the found rows, in both the table and the CSV
    keys = [
        line.split("`")[1] for line in text.splitlines() if line.startswith("| ") and "`" in line
    ]
    assert keys == [one_table.short_key(k) for k in one_table.ROW_ORDER]
    assert [r["row"] for r in rows] == one_table.ROW_ORDER
    assert "5 learning trials done of 110 planned" in text
    with open(tmp_path / "table1.csv") as f:
        by_row = {r["row"]: r for r in csv.DictReader(f)}
    d = by_row["dense"]
    assert (d["seeds_done"], d["seeds_planned"], d["seeds_missing"]) == ("3", "10", "3-9")
    assert float(d["mean"]) == 1100.0 and float(d["std"]) == pytest.approx(100.0)
    assert float(d["ci_low"]) == pytest.approx(851.59, abs=0.01)
    assert float(d["ci_high"]) == pytest.approx(1348.41, abs=0.01)
    assert (float(d["best"]), d["best_seed"], d["one_clean_commit"]) == (1200.0, "2", "True")
    assert by_row["iagc"]["seeds_done"] == "0" and by_row["iagc"]["mean"] == ""
    # the figure: every seed a dot, the mean, the paper's figure per row (top row first)
    check_png(tmp_path / "table1_seeds_A.png", 1100, 891)  # 10 x (0.42 x 15 + 1.8) in, 110 dpi
    (ax,) = plotted["table1_seeds_A.png"]
    seeds_x, seeds_y = ax["each seed (final reward, eval mode)"]
    y_of = {k: len(one_table.ROW_ORDER) - i for i, k in enumerate(one_table.ROW_ORDER)}
    assert seeds_x.tolist() == [1000.0, 1100.0, 1200.0, 2000.0, 1500.0]
    assert seeds_y.tolist() == [y_of["dense"]] * 3 + [y_of["ours"], y_of[SEARCH_A_BEST]]
    mean_x, _ = ax["mean over seeds, bar: 95 % t-interval"]
    assert mean_x.tolist() == [1100.0, 2000.0, 1500.0]
    paper_x, paper_y = ax["the paper's figure (best seed)"]
    assert paper_x.tolist() == [ROWS[k].paper["A"] for k in ROWS if ROWS[k].paper]
    assert ax["baseline (one evaluation)"][0].tolist() == [990.0, 2600.0]


def test_mixed_commits_refused_unless_allowed_then_marked(tmp_path, capsys):
    out = tmp_path / "raw"
    _record(out, "B", "oracle", 0, 2100.0, kind="baseline")
    _record(out, "B", "harmonic", 0, 1000.0)
    _record(out, "B", "harmonic", 1, 1200.0, commit="fed9876" + "0" * 33)
    with pytest.raises(MixedCodeError, match=r"B / harmonic: mixed: abc1234 \(1 seed\), fed9876"):
        one_table.build_one_table(out, out / "table1.md", out)
    assert not (out / "table1.md").exists()
    with pytest.raises(SystemExit) as exit_info:  # the command names the flag
        main(["--report-only", "--output", str(out)])
    assert exit_info.value.code == 2
    assert "argument --allow-mixed-commits not given" in capsys.readouterr().err
    assert main(["--report-only", "--output", str(out), "--allow-mixed-commits"]) == 0
    text = (out / "table1.md").read_text()
    (harmonic,) = _lines(text, "harmonic")
    assert "| 2 of 10 (partial: seeds 2-9 not yet run) † | 1200.00 (seed 1) |" in harmonic
    assert harmonic.endswith("| † mixed: abc1234 (1 seed), fed9876 (1) |")
    assert "- † IAGC PPO (95%), harmonic annealing: mixed: abc1234 (1 seed), fed9876 (1)" in text
    assert "--allow-mixed-commits`" in text  # the note names the command that pooled them
    for name in ("table1.csv", "table1_seeds_B.png", "training_curves_B.png"):
        assert (out / name).is_file(), name


def test_baselines_only_folder_lists_every_learning_row_not_yet_run(tmp_path):
    for setup in ("A", "B"):
        for row in ("aloha", "oca", "musical_chairs", "oracle"):
            _record(tmp_path, setup, row, 0, 1000.0, kind="baseline")
    rows = one_table.build_one_table(tmp_path, tmp_path / "t.md", tmp_path / "fig")
    assert len(rows) == 2 * len(one_table.ROW_ORDER)
    learning = [r for r in rows if r["kind"] == "learning"]
    assert learning and all(r["seeds_done"] == 0 for r in learning)
    text = (tmp_path / "t.md").read_text()
    assert text.count("not yet run (0 of 10)") == len(learning)
    assert "0 learning trials done of 220 planned" in text
    assert "](fig/table1_seeds_A.png)" in text  # the figures' folder relative to the table
    assert (tmp_path / "fig" / "table1_seeds_B.png").is_file()


def test_seed_ranges():
    assert one_table.seed_ranges([0, 1, 2, 5, 7, 8, 9]) == "0-2, 5, 7-9"
    assert one_table.seed_ranges([3]) == "3" and one_table.seed_ranges([]) == ""
