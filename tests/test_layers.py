"""The architecture, checked on the source: layers, no import circle, small files.

Every import statement of the three packages is read with ``ast`` (imports inside
functions included, so a lazy import cannot hide an arrow), resolved to project modules,
and checked:

* ``dsa_pettingzoo`` imports neither torch, ray, ``pruning_callbacks`` nor
  ``rllib_experiments``; ``pruning_callbacks`` imports neither the environment nor the
  experiments; ``pruning_callbacks.schedules`` imports neither torch nor ray;
* inside ``rllib_experiments``, imports go down the layers ``iagc/`` (the library, which
  imports nothing of DSA), ``dsa/``, the experiment core, ``methods/``, the pipelines
  (``trials``, ``report``), ``cli/``;
* there is no circle among the project's modules;
* no source file is over 400 lines.
"""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("dsa_pettingzoo", "pruning_callbacks", "rllib_experiments")


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _sources():
    return sorted(p for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py"))


def _imports(path: Path):
    """Absolute names this file imports (relative imports resolved; ``X.name`` for from-imports)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                root = ".".join(base + ([node.module] if node.module else []))
            else:
                root = node.module
            # X.a is module a of package X, or a name in module X: _graph keeps the longest
            # prefix that is a module, so `from pkg import mod` is an arrow to pkg.mod only
            found.update(f"{root}.{alias.name}" for alias in node.names)
    return found


def _graph():
    modules = {_module_name(p): p for p in _sources()}
    edges = {}
    for name, path in modules.items():
        targets = set()
        for imported in _imports(path):
            # the longest project module the name falls under
            parts = imported.split(".")
            for k in range(len(parts), 0, -1):
                candidate = ".".join(parts[:k])
                if candidate in modules:
                    if candidate != name:
                        targets.add(candidate)
                    break
        edges[name] = targets
    return modules, edges


def _external(path):
    return {name.split(".")[0] for name in _imports(path)}


@pytest.mark.parametrize("package, forbidden", [
    ("dsa_pettingzoo", {"torch", "ray", "pruning_callbacks", "rllib_experiments"}),
    ("pruning_callbacks", {"dsa_pettingzoo", "rllib_experiments"}),
    ("pruning_callbacks/schedules", {"torch", "ray", "dsa_pettingzoo", "rllib_experiments"}),
])
def test_lower_layers_import_nothing_above_them(package, forbidden):
    bad = {str(p.relative_to(REPO)): sorted(_external(p) & forbidden)
           for p in (REPO / package).rglob("*.py") if _external(p) & forbidden}
    assert bad == {}


#: rllib_experiments' layers, bottom up; a module may import its own layer and those below.
RLLIB_LAYERS = [
    ("iagc", lambda m: m.startswith("rllib_experiments.iagc")),
    ("dsa", lambda m: m.startswith("rllib_experiments.dsa")),
    ("core", lambda m: m.split(".")[1] in {"settings", "algorithm", "evaluation", "training",
                                           "progress", "run_outputs", "search_space",
                                           "background_eval", "random_streams", "figures",
                                           "bootstrap"}
     if m.count(".") else False),
    ("methods", lambda m: m.startswith("rllib_experiments.methods")),
    ("pipelines", lambda m: m in {"rllib_experiments.trials", "rllib_experiments.report",
                                  "rllib_experiments.pruning_report", "rllib_experiments.pruning_sparsity",
                                  "rllib_experiments.pruning_figures", "rllib_experiments.pruning_seeds",
                                  "rllib_experiments.scale_stats", "rllib_experiments.scale_figures",
                                  "rllib_experiments.scale_report", "rllib_experiments.scale_goal_report"}),
    ("top", lambda m: True),  # cli/, the python -m shims, the package itself
]


def _layer(module: str) -> int:
    return next(i for i, (_, test) in enumerate(RLLIB_LAYERS) if test(module))


def test_rllib_experiments_imports_only_go_down():
    modules, edges = _graph()
    upward = []
    for src, targets in edges.items():
        if not src.startswith("rllib_experiments"):
            continue
        for dst in targets:
            if dst.startswith("rllib_experiments") and _layer(dst) > _layer(src):
                upward.append(f"{src} -> {dst}")
    assert upward == []
    library = [p for p in (REPO / "rllib_experiments" / "iagc").rglob("*.py")
               if "dsa_pettingzoo" in _external(p)]
    assert library == []  # the IAGC library knows nothing of the DSA environment


def test_no_import_circle():
    _, edges = _graph()
    state, stack, circles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                circles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = "done"

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert circles == []


def test_the_checker_sees_lazy_imports(tmp_path):
    """An import inside a function counts: the circle check cannot be dodged that way."""
    path = REPO / "rllib_experiments" / "training.py"
    # build_algo_config is imported inside TrainingRun._build
    assert "rllib_experiments.algorithm.build_algo_config" in _imports(path)


def test_no_source_file_over_400_lines():
    sizes = {str(p.relative_to(REPO)): len(p.read_text().splitlines())
             for p in list(_sources()) + sorted((REPO / "dsa_pettingzoo").rglob("*.c"))}
    assert {k: v for k, v in sizes.items() if v > 400} == {}
