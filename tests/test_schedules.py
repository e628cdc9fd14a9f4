"""Sparsity schedules, eqs. (10)-(14): values against hand computations, shapes, CLI, figure.

The registry, the mask-update rule and a schedule registered here are in
tests/test_schedule_registry.py.
"""

import json
import math
import subprocess
import sys

import numpy as np
import pytest

from pruning_callbacks.schedules import (
    gradual_sparsity,
    harmonic_sparsity,
    main,
    make_schedule,
    per_agent_schedules,
    sigma_linear,
)

PF = 0.95


# ---------------------------------------------------------------- eq. (10)-(11)
@pytest.mark.parametrize(
    "i, expected",
    [
        (0, 0.0),  # i = i_start
        (250, 0.95 * 0.25),
        (500, 0.475),  # midway
        (999, 0.95 * 0.999),
        (1000, 0.95),  # i = i_P: held at p_final
        (5000, 0.95),  # beyond i_P
    ],
)
def test_linear_values(i, expected):
    assert gradual_sparsity(
        i, final_sparsity=PF, start=0, end=1000, sigma=sigma_linear
    ) == pytest.approx(expected)


@pytest.mark.parametrize(
    "i, expected",
    [
        (0, 0.0),
        (199, 0.0),  # before i_start
        (200, 0.0),  # i = i_start: sigma = 0
        (600, 0.95 * (1 - 0.5**3)),  # midway: 0.83125
        (800, 0.95 * (1 - 0.25**3)),
        (1000, 0.95),
        (1200, 0.95),
    ],
)
def test_polynomial_values_with_late_start(i, expected):
    s = make_schedule("polynomial", final_sparsity=PF, start=200, end=1000)
    assert s(i) == pytest.approx(expected)


def test_linear_late_start_midway():
    s = make_schedule("linear", final_sparsity=0.8, start=100, end=300)
    assert [s(i) for i in (0, 99, 100, 200, 300, 301)] == pytest.approx([0, 0, 0, 0.4, 0.8, 0.8])


@pytest.mark.parametrize("name", ["linear", "polynomial"])
@pytest.mark.parametrize("start", [0, 200])
def test_linear_and_polynomial_monotone(name, start):
    v = make_schedule(name, final_sparsity=PF, start=start, end=1000).values(1500)
    assert all(b >= a for a, b in zip(v, v[1:]))
    assert v[0] == 0.0 and v[-1] == PF and max(v) == PF


def test_polynomial_above_linear():
    lin = make_schedule("linear", final_sparsity=PF, end=1000)
    poly = make_schedule("polynomial", final_sparsity=PF, end=1000)
    assert all(poly(i) >= lin(i) for i in range(1001))


# ---------------------------------------------------------------- eqs. (12)-(14)
def _b(i, p0, pf, start, end):  # eq. (14) by hand
    return pf + 0.5 * (p0 - pf) * (1 + math.cos(math.pi * (i - start) / (end - start)))


@pytest.mark.parametrize(
    "i, expected",
    [
        (0, 0.0),  # b = p0 = 0, c = 0
        (50, 0.95 * (1 - math.cos(math.pi / 20)) / 2 + 0.1),  # c at its maximum: 0.10585
        (150, 0.0),  # b = 0.0518, c = -0.1 -> clamped up to p0
        (450, 0.95 - 0.475 * (1 + math.cos(0.45 * math.pi)) + 0.1),  # 0.50069
        (500, 0.475),  # midway: b = (p0 + pf) / 2, c = sin(5 pi) = 0
        (1000, 0.95),  # i = i_P
        (1050, 0.95),  # beyond: b = pf, c = +0.1 -> clamped to pf
        (1150, 0.85),  # beyond: b = pf, c = -0.1
    ],
)
def test_harmonic_values(i, expected):
    got = harmonic_sparsity(i, final_sparsity=PF, start=0, end=1000)
    assert got == pytest.approx(expected, abs=1e-12)


def test_harmonic_hand_formula_everywhere():
    s = make_schedule(
        "harmonic",
        final_sparsity=0.9,
        initial_sparsity=0.2,
        start=0,
        end=800,
        amplitude=0.05,
        period=100,
    )
    for i in range(0, 800, 7):
        c = 0.05 * math.sin(2 * math.pi * i / 100)
        assert s(i) == pytest.approx(min(max(_b(i, 0.2, 0.9, 0, 800) + c, 0.2), 0.9))


def test_harmonic_initial_sparsity_and_late_start():
    s = make_schedule("harmonic", final_sparsity=PF, initial_sparsity=0.2, start=200, end=1000)
    assert s(0) == s(199) == 0.2  # before i_start: p0, no oscillation
    # at i_start b = p0 and c = 0.1 sin(2 pi) = 0
    assert s(200) == pytest.approx(0.2)
    assert s(250) == pytest.approx(_b(250, 0.2, PF, 200, 1000) + 0.1)


def test_harmonic_oscillates_and_stays_in_bounds():
    p0, pf = 0.1, 0.9
    v = make_schedule("harmonic", final_sparsity=pf, initial_sparsity=p0, end=1000).values(1400)
    assert min(v) >= p0 and max(v) <= pf
    assert min(v) == p0 and max(v) == pf  # both clamps are hit
    diffs = [b - a for a, b in zip(v, v[1:])]
    ups = sum(d > 1e-12 for d in diffs)
    downs = sum(d < -1e-12 for d in diffs)
    assert ups > 100 and downs > 100  # not monotone: it regrows periodically
    # direction changes: the oscillation has period 200 -> several turns in 1000 its
    signs = [d > 0 for d in diffs if abs(d) > 1e-12]
    turns = sum(a != b for a, b in zip(signs, signs[1:]))
    assert turns >= 6


def test_harmonic_mean_follows_cosine():
    # averaged over one full period the oscillation cancels (where not clamped)
    s = make_schedule("harmonic", final_sparsity=PF, end=1000)
    window = range(400, 600)
    mean = sum(s(i) for i in window) / 200
    mean_b = sum(_b(i, 0, PF, 0, 1000) for i in window) / 200
    assert mean == pytest.approx(mean_b, abs=1e-3)


# ---------------------------------------------------------------- parameters
def test_per_agent_dict_and_sequence():
    d = per_agent_schedules(["a", "b"], name="linear", final_sparsity={"a": 0.9, "b": 0.5}, end=10)
    assert d["a"](5) == pytest.approx(0.45) and d["b"](5) == pytest.approx(0.25)
    s = per_agent_schedules(
        [0, 1, 2],
        name="harmonic",
        final_sparsity=[0.9, 0.8, 0.7],
        initial_sparsity=(0.1, 0.0, 0.3),
        end=100,
    )
    assert [s[k].final_sparsity for k in (0, 1, 2)] == [0.9, 0.8, 0.7]
    assert s[2](0) == pytest.approx(0.3)


def test_per_agent_errors():
    with pytest.raises(ValueError, match="final_sparsity: a sequence needs one value per agent"):
        per_agent_schedules(["a", "b"], final_sparsity=[0.9])
    with pytest.raises(ValueError, match="final_sparsity: no value for agent 'b'"):
        per_agent_schedules(["a", "b"], final_sparsity={"a": 0.9})


@pytest.mark.parametrize(
    "kw, match",
    [
        (dict(name="cubic"), "schedule name"),
        (dict(final_sparsity=1.0), "final_sparsity"),
        (dict(initial_sparsity=0.99), "initial_sparsity"),
        (
            dict(name="linear", initial_sparsity=0.1),
            r"'linear': unknown parameter\(s\) \['initial_sparsity'\]",
        ),
        (dict(start=10, end=10), "end"),
        (dict(start=-1), "start"),
        (dict(period=0), "period"),
    ],
)
def test_bad_parameters(kw, match):
    with pytest.raises(ValueError, match=match):
        make_schedule(**{"name": "harmonic", **kw})


def test_dict_roundtrip_and_unknown_key():
    s = make_schedule("polynomial", final_sparsity=0.8, start=5, end=50)
    assert make_schedule(**s.to_dict()) == s
    with pytest.raises(ValueError, match=r"unknown parameter\(s\) \['p_final'\]"):
        make_schedule(**{"name": "linear", "p_final": 0.9})


# ---------------------------------------------------------------- CLI and figure
def test_cli_json(capsys):
    assert (
        main(
            [
                "--schedule",
                "polynomial",
                "--iterations",
                "300",
                "--final-sparsity",
                "0.9",
                "--start",
                "100",
                "--end",
                "250",
                "--json",
            ]
        )
        == 0
    )
    out = json.loads(capsys.readouterr().out)
    assert out["schedule"] == "polynomial" and out["iterations"] == 300
    assert out["start"] == 100 and out["end"] == 250 and out["final_sparsity"] == 0.9
    ref = make_schedule("polynomial", final_sparsity=0.9, start=100, end=250)
    assert out["sparsity"] == [ref(i) for i in range(300)]


def test_cli_subprocess_default_end():
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "pruning_callbacks",
            "schedules",
            "--schedule",
            "harmonic",
            "--iterations",
            "1000",
            "--final-sparsity",
            "0.95",
            "--initial-sparsity",
            "0",
            "--json",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    out = json.loads(r.stdout)
    assert len(out["sparsity"]) == 1000 and out["end"] == 1000
    assert out["amplitude"] == 0.1 and out["period"] == 200
    assert out["sparsity"][500] == pytest.approx(0.475)


def test_cli_bad_flag_names_argument(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--schedule", "linear", "--iterations", "10", "--final-sparsity", "1.5"])
    assert e.value.code == 2
    assert "final_sparsity" in capsys.readouterr().err


def test_plot_schedules_writes_png(tmp_path, plotted, check_png):
    pytest.importorskip("matplotlib")
    from rllib_experiments.studies.table1.schedules_figure import plot_schedules

    out = tmp_path / "fig.png"
    assert plot_schedules(out, iterations=200) == out
    check_png(out, 704, 418)  # 6.4 x 3.8 in at the reports' 110 dpi
    (lines,) = plotted["fig.png"]
    i = np.arange(200)
    assert all(np.array_equal(x, i) for x, _ in lines.values()) and len(lines) == 3
    # eqs. (10)-(11) with i_start = 0, i_P = I_T = 200, p_final = 0.95
    np.testing.assert_allclose(lines["linear (eq. 11)"][1], 0.95 * i / 200, rtol=1e-12)
    np.testing.assert_allclose(
        lines["cubic polynomial (eq. 11)"][1],
        0.95 * (1 - (1 - i / 200) ** 3),
        rtol=1e-12,
        atol=1e-15,
    )
    harmonic = make_schedule("harmonic", final_sparsity=0.95, end=200).values(200)
    np.testing.assert_allclose(lines["harmonic annealing (eqs. 12-14)"][1], harmonic, rtol=1e-12)
