"""Settings and presets: a setup given as an environment argument and malformed preset files
are refused with a SettingsError naming the field (and the file), never run mislabelled."""

from __future__ import annotations

import json
import time

import pytest

from rllib_experiments.cli.train import resolve
from rllib_experiments.settings import PresetError, Settings, SettingsError, load_preset


@pytest.mark.parametrize("setup", ["A", "B", "C"])
def test_setup_inside_env_is_refused_not_run_under_another_label(setup):
    with pytest.raises(SettingsError) as err:
        Settings(setup="A", env={"setup": setup}).validate()
    assert err.value.field == "env" and err.value.argument == "setup"


@pytest.mark.parametrize("flags", [["--env", "setup=B"], ["--setup", "B", "--env", "setup=C"]])
def test_train_names_env_setup_flag_when_setup_given_in_env(flags, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        resolve(["--preset", "tiny", *flags, "--output", str(tmp_path / "o")])
    assert exit_info.value.code == 2
    assert "argument --env setup:" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_preset_with_setup_inside_env_names_the_file(tmp_path):
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"env": {"setup": "B"}}))
    with pytest.raises(PresetError) as err:
        load_preset(str(path))
    assert err.value.field == "env" and str(path) in str(err.value)


@pytest.mark.parametrize(
    "text, field",
    [
        ("[1, 2]", "preset"),
        ('"tiny"', "preset"),
        ('{"hidden_sizes": 16}', "hidden_sizes"),
        ('{"hidden_sizes": "16"}', "hidden_sizes"),
        ('{"seed": 1, "seed": 2}', "seed"),
        ("{not json", "preset"),
    ],
)
def test_malformed_preset_is_a_settings_error_naming_file_and_field(tmp_path, text, field):
    path = tmp_path / "p.json"
    path.write_text(text)
    with pytest.raises(SettingsError) as err:
        load_preset(str(path))
    assert err.value.field == field
    assert str(path) in str(err.value)


def test_malformed_preset_gets_exit_2_from_train(tmp_path, capsys):
    path = tmp_path / "p.json"
    path.write_text('{"hidden_sizes": 16}')
    with pytest.raises(SystemExit) as exit_info:
        resolve(["--preset", str(path), "--output", str(tmp_path / "o")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "argument --preset" in err and "hidden_sizes" in err and str(path) in err


def test_train_refuses_output_folder_that_holds_other_files(tmp_path, capsys):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "notes.txt").write_text("keep me")
    with pytest.raises(SystemExit) as exit_info:
        resolve(["--preset", "tiny", "--output", str(folder)])
    assert exit_info.value.code == 2
    assert "argument --output" in capsys.readouterr().err and "notes.txt" in str(
        sorted(p.name for p in folder.iterdir())
    )
    assert sorted(p.name for p in folder.iterdir()) == ["notes.txt"]


def test_train_output_below_a_file_is_a_clear_error(tmp_path, capsys):
    (tmp_path / "progress.csv").write_text("x")
    with pytest.raises(SystemExit) as exit_info:
        resolve(["--preset", "tiny", "--output", str(tmp_path / "progress.csv" / "x")])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    # named by the folder check, or by the lock taken first (a path through a file)
    assert "argument --output" in err and ("is not a folder" in err or "Not a directory" in err)


@pytest.mark.parametrize(
    "flags, env, named",
    [
        (["--address", "nonsense"], None, "argument --address: --address='nonsense' is not"),
        (["--address", "ray://host"], None, "argument --address"),
        (["--address", "127.0.0.1:1"], None, "argument --address: --address='127.0.0.1:1': no Ray"),
        ([], "127.0.0.1:1", "RAY_ADDRESS='127.0.0.1:1': no Ray cluster answers there within"),
    ],
)
def test_unreachable_or_malformed_ray_address_fails_fast_leaving_no_folder(
    tmp_path, capsys, monkeypatch, flags, env, named
):
    if env is None:
        monkeypatch.delenv("RAY_ADDRESS", raising=False)
    else:
        monkeypatch.setenv("RAY_ADDRESS", env)
    start = time.monotonic()
    with pytest.raises(SystemExit) as exit_info:
        resolve(["--preset", "tiny", *flags, "--output", str(tmp_path / "o")])
    assert exit_info.value.code == 2 and time.monotonic() - start < 30
    assert named in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_ray_address_check_waits_a_bounded_time(monkeypatch):
    from rllib_experiments.run import ray_address

    calls = []

    def create_connection(address, timeout):
        calls.append(timeout)
        raise TimeoutError("timed out")

    monkeypatch.setattr(ray_address.socket, "create_connection", create_connection)
    with pytest.raises(ray_address.RayAddressError, match="within 10 s"):
        ray_address.check_ray_address("10.255.255.1:6379")
    assert calls == [ray_address.CONNECT_TIMEOUT_S]
