"""Rendering: PettingZoo's render_test, and the pictures show what happened."""

import sys

import numpy as np
import pytest
from pettingzoo.test import render_test

import dsa_pettingzoo
from dsa_pettingzoo import parallel_env
from dsa_pettingzoo import render as R


@pytest.fixture(autouse=True)
def _agg(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")


@pytest.mark.parametrize(
    "kw", [dict(setup="B", horizon=8), dict(num_users=2, num_channels=1, horizon=4)]
)
def test_pettingzoo_render_test(kw):
    pytest.importorskip("matplotlib")
    render_test(lambda render_mode=None: dsa_pettingzoo.env(render_mode=render_mode, **kw))


def _scripted_env(mode):
    # K = 2; channel 1 always PU-busy, channel 2 free. N = 3.
    env = parallel_env(num_users=3, num_channels=2, horizon=4, pu_prob=[1.0, 0.0], render_mode=mode)
    env.reset(seed=0)
    env.step({"user_0": 2, "user_1": 0, "user_2": 0})  # slot 1: user 0 alone on ch 2 -> ACK
    env.step({"user_0": 2, "user_1": 2, "user_2": 1})  # slot 2: collision on 2, user 2 blocked
    env.step({"user_0": 0, "user_1": 0, "user_2": 0})  # slot 3: all idle
    return env


def test_ansi_picture():
    text = _scripted_env("ansi").render()
    lines = text.splitlines()
    assert "slot 3/4" in lines[0]
    assert lines[1] == "ch1  |#B#"  # PU busy, attempt blocked, PU busy
    assert lines[2] == "ch2  |0X."  # user 0 ACK, collision, unused
    assert "ACK 1" in lines[3] and "collisions 2" in lines[3] and "PU-blocked 1" in lines[3]


def test_rgb_picture_cells():
    env = _scripted_env("rgb_array")
    img = env.render()
    assert img.dtype == np.uint8 and img.ndim == 3 and img.shape[2] == 3
    cw, chh, uh, margin, gap = 6, 18, 8, 10, 6  # layout constants of render_rgb
    assert img.shape == (2 * chh + gap + 3 * uh, margin + 4 * cw, 3)
    colors = R.user_colors(3)

    def cell(k, s):  # centre pixel of channel k (1-based), slot s (1-based)
        return tuple(img[(k - 1) * chh + chh // 2, margin + (s - 1) * cw + 2])

    def frame(k, s):  # top-left pixel inside the cell's 1-px grid line
        return tuple(img[(k - 1) * chh + 1, margin + (s - 1) * cw])

    def user(n, s):
        return tuple(img[2 * chh + gap + n * uh + uh // 2, margin + (s - 1) * cw + 2])

    assert cell(2, 1) == tuple(colors[0])  # user 0's colour: its success
    assert frame(2, 2) == R.COLLISION  # red frame: collision
    assert frame(1, 2) == R.BLOCKED  # black frame: blocked by PU
    assert cell(1, 1) == R.PU_COLOUR and cell(1, 3) == R.PU_COLOUR
    assert cell(2, 3) == R.FREE
    assert cell(2, 4) == R.UNPLAYED  # slot 4 not played yet
    assert user(0, 1) == R.SUCCESS and user(1, 1) == R.IDLE_COLOUR
    assert user(0, 2) == R.COLLISION and user(2, 2) == R.BLOCKED
    # the left margin shows each user's colour
    assert tuple(img[2 * chh + gap + uh // 2, 3]) == tuple(colors[0])


def test_user_colors_are_distinct():
    c = R.user_colors(20)
    assert c.shape == (20, 3) and c.dtype == np.uint8
    assert len({tuple(x) for x in c}) == 20


def test_long_horizon_shows_a_window():
    env = parallel_env(num_users=2, num_channels=1, horizon=1000, render_mode="rgb_array")
    env.reset(seed=0)
    for _ in range(300):
        env.step({"user_0": 1, "user_1": 0})
    img = env.render()
    assert img.shape[1] == 10 + 6 * R.RGB_WINDOW
    # every slot of the window is user 0's lone success on channel 1 (nothing left unplayed)
    centres = img[18 // 2, 10 + 2 :: 6]
    assert len(centres) == R.RGB_WINDOW and np.all(centres == R.user_colors(2)[0])
    assert np.all(img[18 + 6 + 8 // 2, 10 + 2 :: 6] == R.SUCCESS)
    env2 = parallel_env(num_users=2, num_channels=1, horizon=1000, render_mode="ansi")
    env2.reset(seed=0)
    for _ in range(300):
        env2.step({"user_0": 1, "user_1": 0})
    assert env2.render().splitlines()[1] == "ch1  |" + "0" * R.ANSI_WINDOW


def test_render_before_reset_raises_like_step_and_state():
    for mode in ("ansi", "rgb_array", "human"):
        with pytest.raises(RuntimeError, match=r"reset\(\) before render"):
            parallel_env(render_mode=mode).render()


def test_render_after_reset_and_without_mode():
    env = parallel_env(render_mode="ansi")
    env.reset(seed=0)
    assert env.render().startswith("dsa_v0  slot 0/100")
    # the default env (N = 10, K = 5, T = 100) before any slot: the grid, nothing played
    env = parallel_env(render_mode="rgb_array")
    env.reset(seed=0)
    img = env.render()
    slots = min(100, R.RGB_WINDOW)
    assert img.dtype == np.uint8 and img.shape == (5 * 18 + 6 + 10 * 8, 10 + 6 * slots, 3)
    assert np.all(img[: 5 * 18, 10:] == R.UNPLAYED) and np.all(img[5 * 18 + 6 :, 10:] == R.UNPLAYED)
    assert np.all(img[5 * 18 : 5 * 18 + 6] == R.BACKGROUND)  # the gap between the bands
    swatches = [tuple(img[5 * 18 + 6 + n * 8 + 4, 3]) for n in range(10)]
    assert swatches == [tuple(c) for c in R.user_colors(10)]
    with pytest.warns(UserWarning, match="render_mode"):
        assert parallel_env().render() is None


def test_human_mode_draws_with_matplotlib_and_closes():
    plt = pytest.importorskip("matplotlib.pyplot")
    env = _scripted_env("human")
    assert env.render() is None
    assert plt.get_fignums()
    env.close()
    assert not plt.get_fignums()


def test_human_mode_without_matplotlib_gives_clear_error(monkeypatch):
    env = parallel_env(render_mode="human", horizon=2)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    monkeypatch.setitem(sys.modules, "matplotlib.pyplot", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        env.reset(seed=0)
