"""One footing: ``train``'s loop and a ``reproduce`` trial give the same numbers for the same run.

A reproduce trial (rllib_experiments.studies.common.trials.run_row_trial) and a plain TrainingRun of the
same settings and seed (what ``train`` runs) must write the same final evaluation: the
same training (runs are reproducible for a seed), the same evaluator, the same episodes.
Re-evaluating the trial's final checkpoint gives the same numbers again.
"""

import json

import pytest

pytest.importorskip("ray")
pytest.importorskip("torch")

pytestmark = [pytest.mark.rllib, pytest.mark.usefixtures("ray_local")]


def test_reproduce_trial_and_train_agree_on_the_same_actors(tmp_path):
    from rllib_experiments.algorithm import build_algo_config
    from rllib_experiments.studies.table1.budgets import BUDGETS
    from rllib_experiments.evaluation import EVAL_SEED, algo_actors, evaluate
    from rllib_experiments.methods import get_row
    from rllib_experiments.studies.common.records import run_folder
    from rllib_experiments.studies.common.trials import base_settings, run_row_trial
    from rllib_experiments.training import TrainingRun

    budget = dict(BUDGETS["smoke"], iterations=4)
    record = run_row_trial(
        "harmonic", "A", 0, budget, str(tmp_path / "raw"), str(tmp_path / "runs")
    )
    settings = get_row("harmonic").settings(base_settings(budget, "A", 0))
    result = TrainingRun(settings, tmp_path / "train", tensorboard=False, log=None).run()

    assert record["eval_seed"] == result["final_evaluation"]["eval_seed"] == EVAL_SEED
    assert record["final_stochastic"] == result["mean_reward"]
    assert record["final_greedy"] == result["greedy_mean_reward"]
    assert record["final_reward_std"] == result["std_reward"]  # the row's mode is stochastic
    assert record["sparsity_prunable"] == result["mean_achieved_sparsity"]
    assert result["resumed_at"] == [] and set(result["provenance"]) == set(record["provenance"])
    assert result["code"] == record["code"]
    on_disk = json.loads((tmp_path / "raw" / "trials" / "A__harmonic__s0.json").read_text())
    assert on_disk["final_stochastic"] == record["final_stochastic"]
    assert [p["iteration"] for p in record["curve"]] == [0, 2, 4]  # from the untrained actors on
    # what reruns it, where it came from, its run folder relative to the results folder
    assert record["budget_config"] == budget and record["resumed_at"] == []
    assert record["run_folder"] == "../runs/A__harmonic__s0"
    assert set(record["provenance"]) == {"versions", "cpu", "python", "omp_num_threads"}
    assert set(record["provenance"]["versions"]) >= {
        "torch",
        "ray",
        "numpy",
        "gymnasium",
        "pettingzoo",
    }

    # the trial's final checkpoint holds the evaluated actors
    algo = build_algo_config(settings).build_algo()
    try:
        algo.restore_from_path(
            str((run_folder(record, tmp_path / "raw") / "checkpoints" / "iter_000004").resolve())
        )
        again = evaluate(algo_actors(algo), settings.env_kwargs(), episodes=settings.eval_episodes)
    finally:
        algo.stop()
    assert again["stochastic"]["mean_reward"] == record["final_stochastic"]
    assert again["greedy"]["mean_reward"] == record["final_greedy"]
