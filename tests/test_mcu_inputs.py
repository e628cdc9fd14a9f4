"""The MCU tool's inputs: a short observations file, non-finite observations and a negative
seed are errors naming the flag, found before any firmware is generated or built."""

from __future__ import annotations

import numpy as np
import pytest

from dsa_pettingzoo.cli.mcu import main
from dsa_pettingzoo.deploy.actor_speed import PAPER_ARCH
from dsa_pettingzoo.deploy.mcu.codegen import actor_header


def _error(capsys, argv) -> str:
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    return capsys.readouterr().err


def test_observations_file_shorter_than_steps_names_both(tmp_path, capsys):
    path = tmp_path / "obs.npy"
    np.save(path, np.zeros((2, PAPER_ARCH.obs_dim), np.float32))
    err = _error(capsys, ["--observations", str(path), "--steps", "5"])
    assert "--observations" in err and "--steps 5" in err and "holds 2" in err


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_non_finite_observation_refused_before_generating_c(tmp_path, capsys, value):
    obs = np.zeros((5, PAPER_ARCH.obs_dim), np.float32)
    obs[3, 1] = value
    path = tmp_path / "obs.npy"
    np.save(path, obs)
    err = _error(capsys, ["--observations", str(path), "--steps", "5"])
    assert "--observations" in err and "non-finite" in err and "step 3" in err


def test_codegen_refuses_non_finite_observations():
    obs = np.zeros((3, PAPER_ARCH.obs_dim), np.float32)
    obs[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        actor_header("a.dsaactor", PAPER_ARCH, {}, obs, 100)


@pytest.mark.parametrize("flag", ["--seed", "--steps", "--reset-every"])
def test_negative_mcu_integers_are_clear_errors(capsys, flag):
    err = _error(capsys, [flag, "-1"])
    assert f"argument {flag}" in err
