"""Prune scopes and rankings of the IAGC actors (Settings.prune_scope / prune_ranking): only the
scope's matrices are pruned, on the learner and on the env runner alike. Tiny preset."""

import pytest

torch = pytest.importorskip("torch")
ray = pytest.importorskip("ray")

from rllib_experiments.algorithm import build_algo_config  # noqa: E402
from rllib_experiments.settings import load_preset  # noqa: E402

pytestmark = [pytest.mark.rllib, pytest.mark.usefixtures("ray_local")]


def _algo(**overrides):
    return build_algo_config(load_preset("tiny", **overrides)).build_algo()


@pytest.mark.parametrize(
    "scope,ranking", [("head_dense", "layer"), ("io_dense", "global"), ("lstm_only", "layer")]
)
def test_prune_scope_keeps_the_named_layers_dense(scope, ranking):
    """Only the scope's matrices are pruned (to p, in total with global ranking); the rest,
    on the learner and on the env runner alike, keep every weight."""
    algo = _algo(
        schedule="linear",
        final_sparsity=0.8,
        iterations=2,
        prune_mode="hold",
        prune_scope=scope,
        prune_ranking=ranking,
    )
    pruned = {
        "head_dense": lambda n: not n.startswith("logits"),
        "io_dense": lambda n: not n.startswith(("logits", "trunk.dense.0")),
        "lstm_only": lambda n: n.startswith("trunk.lstm"),
    }[scope]
    try:
        for _ in range(2):
            algo.train()
        for module in (
            algo.learner_group._learner.module["user_1"],
            algo.env_runner.module["user_1"],
        ):
            matrices = {n: p.detach() for n, p in module.named_parameters() if p.dim() > 1}
            inside = [w for n, w in matrices.items() if pruned(n)]
            outside = [w for n, w in matrices.items() if not pruned(n)]
            assert inside and outside
            zeros = sum(int((w == 0).sum()) for w in inside) / sum(w.numel() for w in inside)
            assert zeros == pytest.approx(0.8, abs=0.005)
            assert all(bool((w != 0).all()) for w in outside)
            if ranking == "layer":
                for w in inside:
                    assert float((w == 0).float().mean()) == pytest.approx(0.8, abs=0.01)
    finally:
        algo.stop()
