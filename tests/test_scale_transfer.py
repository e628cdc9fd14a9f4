"""The scale study's row ours_from_A (rllib_experiments.studies.scale.transfer): its goal beside ours',
when it waits or refuses, and its flag's errors. The RLlib end-to-end run of --transfer-only is in
test_scale.py's tiny study."""

import pytest

from rllib_experiments.cli import scale
from rllib_experiments.studies.scale import transfer as scale_transfer
from rllib_experiments.studies.scale.budgets import BUDGETS
from rllib_experiments.studies.scale.trials import env_for as scale_env_for
from rllib_experiments.studies.scale.report import build_report
from test_scale import _baseline, _ours, _write  # the made-up records of the scale tests


def _transfer(setup, n, seed, reward):
    return dict(
        _ours(setup, n, seed, reward),
        trial=f"{setup}__ours_from_A__s{seed}",
        row="ours_from_A",
        kind="transfer",
        trained_in="A",
    )


def test_transfer_row_has_its_own_goal_and_is_no_baseline(tmp_path):
    from rllib_experiments.studies.scale.stats import goal_cells, load_records, table_rows

    out = tmp_path / "raw"
    for seed in range(5):
        _write(out, _ours("C", 20, seed, 1000.0 + 100 * seed))  # mean 1200: 0.6 of the oracle
        _write(out, _transfer("C", 20, seed, 1940.0))  # 0.97
    _write(out, _baseline("C", 20, "oracle", 2000.0, 5.0))
    _write(out, _baseline("C", 20, "mctopm", 1400.0, 5.0))
    cells = {c["method"]: c for c in goal_cells(table_rows(load_records(out)))}
    assert set(cells) == {"ours", "ours_from_A"}
    # the baseline of both is MCTopM, never the other row of ours
    assert cells["ours"]["best"]["method"] == "mctopm" and cells["ours"]["margin"] == -200.0
    assert cells["ours_from_A"]["met"] and cells["ours_from_A"]["margin"] == pytest.approx(540.0)
    assert not cells["ours"]["met"] and cells["ours"]["short_ratio"] == pytest.approx(0.35)
    md = tmp_path / "scale.md"
    build_report(out, md, tmp_path / "scale.csv", tmp_path / "figs", probe_dir=tmp_path / "none")
    text = md.read_text()
    assert (
        "**Met by ours in 0 of 1 cells with records; by ours or ours trained in A (95 %) in 1 of 1**"
        in text
    )
    assert (
        "| C | 20 | 10 | ours trained in A (95 %) | 5 | 0.970 | MCTopM (0.700) | 540.0 | yes | yes |"
        in text
    )
    assert "| ours trained in A (95 %) | 0.970 ± 0.000 |" in text


def test_transfer_waits_for_the_A_run_and_refuses_a_wrong_checkpoint(tmp_path):
    out, said = tmp_path / "raw", []
    env_for = scale_env_for(BUDGETS["smoke"])

    def export(folder, dest):
        raise AssertionError("nothing is exported when no A run is here")

    assert (
        scale_transfer.transfer_trials(out, env_for, [4], ["B", "C"], [0], export, log=said.append)
        == 0
    )
    assert said == [
        "scale: ours_from_A at N = 4, seed 0 waits for A's run of ours "
        "(A__ours__s0.json is not on record)"
    ]
    _write(out, dict(_ours("A", 4, 0, 10.0), run_folder=str(tmp_path / "gone")))
    assert (
        scale_transfer.transfer_trials(out, env_for, [4], ["B"], [0], export, log=said.append) == 0
    )
    assert "is not on this machine" in said[-1]
    _write(out, _transfer("B", 4, 0, 9.0))
    said.clear()  # on record: not even looked at
    assert (
        scale_transfer.transfer_trials(out, env_for, [4], ["A", "B"], [0], export, log=said.append)
        == 0
        and not said
    )


def test_transfer_only_flag_errors(tmp_path, capsys):
    for argv, flag in (
        (["--transfer-only", "--report-only", "--output", str(tmp_path)], "--transfer-only"),
        (["--transfer-only", "--output", str(tmp_path / "none")], "--output"),
    ):
        with pytest.raises(SystemExit) as exit_info:
            scale.main(["--budget", "smoke", "--sizes", "4"] + argv)
        assert exit_info.value.code == 2
        assert f"argument {flag}" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []
