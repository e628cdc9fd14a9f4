"""The learned actors shipped with the environment (``dsa_pettingzoo.pretrained``).

The machinery on a set made here (random actors in a temporary folder standing for the
package's): listing, loading, files checked against the manifest's sha256, ``dsa-evaluate
--policy pretrained:NAME`` with the set's setup and seed as defaults and its comparison with
the manifest, ``--list-pretrained``, bad names. Then every shipped set: its evaluation on the
standard episodes gives its manifest's numbers to the last digit, with numpy only; the
installed wheel, without torch or ray, does the same (tests/test_packaging.py).
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from conftest import doc_block

from dsa_pettingzoo import make_config, pretrained
from dsa_pettingzoo.baselines import make_policy
from dsa_pettingzoo.cli import evaluate
from dsa_pettingzoo.deploy import Architecture
from dsa_pettingzoo.evaluation import EVAL_SEED, evaluate_policy
from test_deploy import export_dir  # random actor files, as the deploy tests make them

#: The sets the package ships (docs/deployment.md, "Learned actors in the base install").
SHIPPED = ["ours-A", "ours-B", "ours-C"]


def _manifest_of(folder, name: str, setup: str = "A", greedy_reward=None) -> dict:
    return {
        "name": name,
        "num_users": 2,
        "env": {"setup": setup, "num_users": 2, "num_channels": 2},
        "trained_by": {"command": "made by tests/test_pretrained.py", "commit": "0" * 40},
        "evaluation": {
            "episodes": 4,
            "seed": EVAL_SEED,
            "chunk_size": 256,
            "greedy": {"mean_reward": greedy_reward, "oracle_ratio": 0.5},
            "sampled": {"mean_reward": None, "oracle_ratio": 0.25},
        },
        "files": {p.name: pretrained.sha256(p) for p in sorted(folder.glob("*.dsaactor"))},
    }


@pytest.fixture
def package(tmp_path, monkeypatch):
    """A stand-in for the package folder holding one set, ``tiny`` (2 users, K = 2)."""
    home = tmp_path / "pretrained"
    arch = Architecture(obs_dim=7, num_actions=3, hidden_sizes=(12,), lstm_size=8)  # K = 2
    actors = export_dir(tmp_path, arch, 2, env={"setup": "B", "num_users": 2, "num_channels": 2})
    home.mkdir()
    actors.rename(home / "tiny")
    env = {"setup": "B", "num_users": 2, "num_channels": 2}
    stats = evaluate_policy(make_policy(f"exported:{home / 'tiny'}"), 4, seed=EVAL_SEED, **env)
    manifest = _manifest_of(home / "tiny", "tiny", "B", float(stats.reward.mean()))
    (home / "tiny" / pretrained.MANIFEST).write_text(json.dumps(manifest))
    monkeypatch.setattr(pretrained, "HERE", home)
    return home


def test_a_set_is_listed_loaded_and_played_like_exported_actors(package):
    assert pretrained.names() == ["tiny"]
    policy = pretrained.load("tiny")
    assert isinstance(policy, pretrained.PretrainedPolicy) and policy.greedy
    assert type(make_policy("pretrained:tiny", greedy=False)) is pretrained.PretrainedPolicy
    env = {"setup": "B", "num_users": 2, "num_channels": 2}
    by_name = evaluate_policy(policy, 4, seed=EVAL_SEED, **env).reward
    by_folder = evaluate_policy(
        make_policy(f"exported:{package / 'tiny'}"), 4, seed=EVAL_SEED, **env
    )
    np.testing.assert_array_equal(by_name, by_folder.reward)


def test_a_set_moved_aside_is_not_listed(package):
    (package / "tiny").rename(package / "tiny.old-20261207-120000")
    assert pretrained.names() == []
    with pytest.raises(ValueError, match=r"no pretrained set 'tiny'; shipped: none"):
        pretrained.load("tiny")


def test_a_changed_missing_or_extra_file_is_refused(package):
    folder = package / "tiny"
    data = bytearray((folder / "user_1.dsaactor").read_bytes())
    data[-1] ^= 1
    (folder / "user_1.dsaactor").write_bytes(bytes(data))
    with pytest.raises(ValueError, match=r"'tiny': user_1.dsaactor does not match its sha256"):
        pretrained.load("tiny")
    (folder / "user_1.dsaactor").unlink()
    with pytest.raises(ValueError, match=r"files \['user_0.dsaactor'\] differ from its manifest"):
        pretrained.load("tiny")


def test_unknown_names_name_the_shipped_sets(package, capsys):
    with pytest.raises(ValueError, match=r"no pretrained set 'tinny'; shipped: tiny"):
        make_policy("pretrained:tinny")
    with pytest.raises(SystemExit) as stop:
        evaluate.main(["--policy", "pretrained:tinny"])
    assert stop.value.code == 2
    assert (
        "argument --policy: no pretrained set 'tinny'; shipped: pretrained:tiny"
        in capsys.readouterr().err
    )


def test_dsa_evaluate_takes_the_sets_setup_and_seed_and_compares_with_its_manifest(package, capsys):
    assert (
        evaluate.main(["--policy", "pretrained:tiny", "--episodes", "4", "--json", "--quiet"]) == 0
    )
    out, err = capsys.readouterr()
    result = json.loads(out)
    trained = make_config(setup="B", num_users=2, num_channels=2).to_kwargs()
    assert result["seed"] == EVAL_SEED
    assert result["env"] == json.loads(
        json.dumps({k: v for k, v in trained.items() if k != "render_mode"})
    )
    said = json.loads((package / "tiny" / pretrained.MANIFEST).read_text())
    assert result["mean_reward"] == said["evaluation"]["greedy"]["mean_reward"]
    assert f"greedy mean reward on the same episodes: {result['mean_reward']!r}: equal" in err
    # other episodes: said, and no comparison
    evaluate.main(["--policy", "pretrained:tiny", "--episodes", "3", "--seed", "1", "--quiet"])
    assert "not the manifest's episodes" in capsys.readouterr().err


def test_list_pretrained_and_policy_required(package, capsys):
    assert evaluate.main(["--list-pretrained"]) == 0
    table = capsys.readouterr().out
    assert "pretrained:tiny" in table and "made by tests/test_pretrained.py" in table
    with pytest.raises(SystemExit):
        evaluate.main(["--episodes", "3"])
    assert "--policy (or --list-pretrained)" in capsys.readouterr().err


# ----------------------------------------------------------------------------- the shipped sets
def test_the_package_ships_its_sets():
    assert pretrained.names() == SHIPPED
    for name in SHIPPED:
        pretrained.check_files(name)
        m = pretrained.manifest(name)
        assert m["trained_by"]["clean_tree"] is True and len(m["trained_by"]["commit"]) == 40
        assert m["env"]["setup"] == name[-1]


@pytest.mark.parametrize("name", SHIPPED)
def test_a_shipped_set_gives_its_manifests_numbers(name):
    m = pretrained.manifest(name)
    ev = m["evaluation"]
    for mode, greedy in (("greedy", True), ("sampled", False)):
        stats = evaluate_policy(
            pretrained.load(name, greedy=greedy), ev["episodes"], seed=ev["seed"], **m["env"]
        )
        assert stats.summary()["mean_reward"] == ev[mode]["mean_reward"], mode


def test_the_shipped_sets_play_without_torch_or_ray():
    code = (
        "import sys; from dsa_pettingzoo.cli import evaluate; "
        f"evaluate.main(['--policy', 'pretrained:{SHIPPED[0]}', '--episodes', '2', '--quiet', "
        "'--no-oracle']); assert not {'torch', 'ray'} & set(sys.modules), sorted(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)


def test_the_readme_comparison_prints_what_the_readme_shows(capsys):
    """The README's quickstart ends with random, ALOHA, the shipped actors and the oracle on the
    same episodes: its code, run, prints its output block to the character."""
    code = doc_block("README.md", '"pretrained:ours-A"')
    shown = doc_block("README.md", "pretrained:ours-A", language="text")
    exec(compile(code, "README.md", "exec"), {})
    assert capsys.readouterr().out == shown
