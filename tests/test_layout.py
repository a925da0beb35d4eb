"""The package's shape: no import circles, each subpackage says what it holds, names are defined once, the wheel
carries what the tree does, and the shipped recipes compose to exactly the configs they composed to before the
layout changed (tests/fixtures/recipes/composed.json.gz; after a deliberate recipe change, rewrite it with
`python tests/test_layout.py --write-recipes`).
"""

import ast
import gzip
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "abc_verl"
SNAPSHOT = Path(__file__).parent / "fixtures" / "recipes" / "composed.json.gz"
SNAPSHOT_RECIPES = [
    "qwen3_1.7b_abc",
    "qwen3_1.7b_grpo",
    "qwen3_1.7b_grpo_dualclip",
    "qwen3_4b_abc",
    "qwen3_4b_grpo",
    "qwen3_4b_grpo_dualclip",
    "tiny_cpu_abc",
]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, ast.Module]:
    return {module_name(p): ast.parse(p.read_text(), str(p)) for p in sorted(PACKAGE.rglob("*.py"))}


def top_level_imports(name: str, tree: ast.Module, known: set[str]) -> set[str]:
    """abc_verl modules imported when `name` is imported (module level only; function-level imports are lazy)."""
    found = set()
    for node in tree.body:
        targets = []
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target.startswith("abc_verl") and target != name:
                found.add(target)
    parent = name.rpartition(".")[0]
    if parent:  # importing a.b.c runs a.b's __init__ first
        found.add(parent)
    return found


def test_no_import_circles():
    trees = modules()
    graph = {name: top_level_imports(name, tree, set(trees)) for name, tree in trees.items()}
    state: dict[str, int] = {}

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1 and not (nxt == path[0] == "abc_verl"):
                pytest.fail("import circle: " + " -> ".join([*path[path.index(nxt) :], nxt]))
            if nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for name in sorted(graph):
        if name not in state:
            visit(name, [name])


@pytest.mark.parametrize("package", sorted(p.parent.name for p in PACKAGE.glob("*/__init__.py")))
def test_each_subpackage_says_what_it_holds_and_may_import(package):
    doc = ast.get_docstring(ast.parse((PACKAGE / package / "__init__.py").read_text())) or ""
    assert "May import" in doc, package
    listed = {p.name for p in (PACKAGE / package).glob("*.py") if p.name != "__init__.py"}
    assert all(name in doc for name in listed), (package, sorted(n for n in listed if n not in doc))


def test_rewards_import_no_verl_or_torch_except_the_manager():
    """Graders and compute_score start fast in any process: only abc_verl.rewards.manager (a verl class) imports
    verl, and no other module of abc_verl.rewards imports it (abc_verl.plugin loads it, inside a function)."""
    offenders = []
    for name, tree in modules().items():
        if not name.startswith("abc_verl.rewards") or name == "abc_verl.rewards.manager":
            continue
        for node in ast.walk(tree):  # function-level imports too: a grader must never load verl
            targets = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                targets = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
            offenders += [f"{name}: {t}" for t in targets if t.split(".")[0] in ("verl", "torch")]
            offenders += [f"{name}: {t}" for t in targets if t == "abc_verl.rewards.manager"]
    assert offenders == []


def test_names_are_defined_once_in_abc_verl_names():
    """Metric keys, reward env variables, loss mode, estimator and reward manager appear as string constants only
    there."""
    owned = ("actor/abc/", "actor/pg_clipfrac", "ABC_VERL_REWARD_", "ABC_VERL_GRADER_")
    exact = {'"grpo_paper"', '"q1"', '"abc_math"', '"no_answer"', '"grader_timeout"', '"response_tokens"'}
    offenders = []
    for name, tree in modules().items():
        if name == "abc_verl.names":
            continue
        docstrings = {
            id(n.body[0].value)
            for n in ast.walk(tree)
            if isinstance(n, ast.Module | ast.FunctionDef | ast.ClassDef)
            and n.body
            and isinstance(n.body[0], ast.Expr)
            and isinstance(n.body[0].value, ast.Constant)
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if node.value.startswith(owned) or repr(node.value).replace("'", '"') in exact:
                    offenders.append(f"{name}: {node.value!r}")
    assert offenders == []


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    cmd = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)]
    subprocess.run(cmd, check=True, timeout=600)
    return next(out.glob("abc_verl-*.whl"))


def test_wheel_carries_the_package_data_and_nothing_of_the_repository(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    for needed in (
        "abc_verl/recipes/qwen3_1.7b_abc.yaml",
        "abc_verl/recipes/loss/abc.yaml",
        "abc_verl/data/eval_sets/aime24.jsonl",
        "abc_verl/data/eval_sets/SOURCES.md",
        "abc_verl/dynamics/paper_curves/qwen3-1.7b-abc-grpo.csv",
        "abc_verl/rewards/__init__.py",
    ):
        assert needed in names, needed
    assert not [n for n in names if n.startswith(("tests/", "benchmarks/", "examples/", "src/", "docs/"))]
    shipped = {
        p.relative_to(ROOT).as_posix() for p in PACKAGE.rglob("*") if p.is_file() and "__pycache__" not in p.parts
    }
    assert shipped <= set(names), sorted(shipped - set(names))
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    assert "abc_verl = abc_verl.plugin" in zipfile.ZipFile(wheel).read(entry_points).decode()


def test_installed_wheel_works_away_from_the_work_tree(wheel, tmp_path):
    """The wheel, not the checkout, on sys.path first: recipes come from the package and compose."""
    target = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--quiet", "-t", target, wheel], check=True)
    code = (
        "import abc_verl, sys; from abc_verl.check.recipes import compose_recipe, find_recipe, recipes_dir;"
        "assert abc_verl.__file__.startswith(sys.argv[1]), abc_verl.__file__;"
        "assert str(recipes_dir()).startswith(sys.argv[1]), recipes_dir();"
        "c = compose_recipe(find_recipe('qwen3_1.7b_abc_smoke'), []);"
        "assert c.actor_rollout_ref.actor.policy_loss.loss_mode == 'abc';"
        "from abc_verl.data.benchmarks import load_benchmark; assert len(load_benchmark('amc23').problems) == 40"
    )
    env = {"PYTHONPATH": str(target), "PATH": str(Path(sys.executable).parent), "HOME": str(tmp_path)}
    proc = subprocess.run([sys.executable, "-c", code, str(target)], cwd=tmp_path, env=env, capture_output=True)
    assert proc.returncode == 0, proc.stderr.decode()[-3000:]


def flat_composed(name: str) -> dict:
    from omegaconf import OmegaConf

    from abc_verl.check.recipes import compose_recipe, find_recipe

    out = {}

    def walk(node, prefix):
        for key, value in node.items():
            if isinstance(value, dict) and value:
                walk(value, f"{prefix}{key}.")
            else:
                out[f"{prefix}{key}"] = value

    walk(OmegaConf.to_container(compose_recipe(find_recipe(name), []), resolve=False), "")
    return out


@pytest.mark.parametrize("recipe", SNAPSHOT_RECIPES)
def test_recipe_composes_to_the_recorded_config(recipe):
    recorded = json.loads(gzip.decompress(SNAPSHOT.read_bytes()))[recipe]
    now = json.loads(json.dumps(flat_composed(recipe)))  # lists and floats as JSON has them
    differing = {
        k: (recorded.get(k), now.get(k)) for k in recorded.keys() | now.keys() if recorded.get(k) != now.get(k)
    }
    assert differing == {}


if __name__ == "__main__" and sys.argv[1:] == ["--write-recipes"]:
    SNAPSHOT.write_bytes(gzip.compress(json.dumps({r: flat_composed(r) for r in SNAPSHOT_RECIPES}).encode(), mtime=0))
    print(f"wrote {SNAPSHOT}")
