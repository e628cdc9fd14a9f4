"""The architecture, checked on the source: layers read from the folders, no import circle.

Every import statement of the three packages is read with ``ast`` (imports inside
functions included, so a lazy import cannot hide an arrow), resolved to project modules,
and checked:

* ``dsa_pettingzoo`` imports neither torch, ray, another training framework,
  ``pruning_callbacks`` nor ``rllib_experiments``; the one exception is
  ``dsa_pettingzoo/integrations/``, the glue to other training frameworks (each of its modules
  imports its framework and torch, never ray or the two packages above), which nothing else in
  ``dsa_pettingzoo`` imports; ``pruning_callbacks`` imports neither the environment nor the
  experiments; ``pruning_callbacks.schedules`` imports neither torch nor ray;
* inside ``rllib_experiments``, imports go down the layers, which are its folders:
  ``iagc/`` (the library, which imports nothing of DSA), ``dsa/``, ``run/``, the experiment
  core (the modules at the top), ``methods/``, ``studies/``, ``cli/``; inside ``studies/``,
  each study imports only itself and ``common/``;
* there is no circle among the project's modules.
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


#: Training frameworks other than RLlib: only ``dsa_pettingzoo/integrations/`` imports them.
FRAMEWORKS = {"stable_baselines3", "supersuit", "benchmarl", "torchrl", "tensordict"}
#: The glue to those frameworks, inside the environment package.
INTEGRATIONS = "dsa_pettingzoo/integrations"


@pytest.mark.parametrize(
    "package, forbidden",
    [
        (
            "dsa_pettingzoo",
            {"torch", "ray", "pruning_callbacks", "rllib_experiments"} | FRAMEWORKS,
        ),
        (INTEGRATIONS, {"ray", "pruning_callbacks", "rllib_experiments"}),
        ("pruning_callbacks", {"dsa_pettingzoo", "rllib_experiments"}),
        ("pruning_callbacks/schedules", {"torch", "ray", "dsa_pettingzoo", "rllib_experiments"}),
    ],
)
def test_lower_layers_import_nothing_above_them(package, forbidden):
    bad = {
        str(p.relative_to(REPO)): sorted(_external(p) & forbidden)
        for p in (REPO / package).rglob("*.py")
        if _external(p) & forbidden
        and (package == INTEGRATIONS or not p.is_relative_to(REPO / INTEGRATIONS))
    }
    assert bad == {}


def test_only_the_integrations_reach_the_integrations():
    """The environment never imports the glue (which needs torch): only the glue itself and the
    layers above the environment may."""
    _, edges = _graph()
    glue = INTEGRATIONS.replace("/", ".")
    reaching = [
        f"{src} -> {dst}"
        for src, targets in edges.items()
        for dst in targets
        if src.startswith("dsa_pettingzoo.") and not src.startswith(glue) and dst.startswith(glue)
    ]
    assert reaching == []
    assert (REPO / INTEGRATIONS / "__init__.py").is_file()


#: rllib_experiments' layers, bottom up, as folders: a module's layer is the folder it sits in
#: (its first folder under the package; the top-level modules are the experiment core, and
#: the package's own ``__init__``/``__main__`` sit above everything). Inside ``studies/``
#: the same rule applies one level down: ``common/`` below the studies, each study its own
#: layer that imports no other study.
RLLIB_ORDER = ["iagc", "dsa", "run", "<core>", "methods", "studies", "cli", "<package>"]
STUDIES = REPO / "rllib_experiments" / "studies"
#: The experiment core: the only modules allowed at the top of rllib_experiments.
CORE = {"settings", "algorithm", "training", "evaluation"}


def _folder_layer(module: str) -> str:
    parts = module.split(".")[1:]
    if not parts or parts == ["__main__"]:
        return "<package>"
    if len(parts) == 1 and not (REPO / "rllib_experiments" / parts[0]).is_dir():
        return "<core>"
    return parts[0]


def _layer(module: str) -> int:
    return RLLIB_ORDER.index(_folder_layer(module))


def test_every_folder_of_rllib_experiments_is_a_layer():
    """A new folder must be placed in the order (and the top level holds the core alone)."""
    folders = {
        p.name
        for p in (REPO / "rllib_experiments").iterdir()
        if p.is_dir() and (p / "__init__.py").is_file()
    }
    assert folders == set(RLLIB_ORDER) - {"<core>", "<package>"}
    top = {p.stem for p in (REPO / "rllib_experiments").glob("*.py")}
    assert top == CORE | {"__init__", "__main__"}


def test_studies_import_only_common_and_themselves():
    _, edges = _graph()
    crossing = []
    for src, targets in edges.items():
        if not src.startswith("rllib_experiments.studies."):
            continue
        mine = src.split(".")[2]
        for dst in targets:
            if dst.startswith("rllib_experiments.studies."):
                theirs = dst.split(".")[2]
                if theirs not in (mine, "common") or (mine == "common" and theirs != "common"):
                    crossing.append(f"{src} -> {dst}")
    assert crossing == []
    assert {p.name for p in STUDIES.iterdir() if (p / "__init__.py").is_file()} >= {"common"}


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
    library = [
        p
        for p in (REPO / "rllib_experiments" / "iagc").rglob("*.py")
        if "dsa_pettingzoo" in _external(p)
    ]
    assert library == []  # the IAGC library knows nothing of the DSA environment


def test_no_import_circle():
    _, edges = _graph()
    state, stack, circles = {}, [], []

    def visit(node):
        state[node] = "open"
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == "open":
                circles.append(stack[stack.index(nxt) :] + [nxt])
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
