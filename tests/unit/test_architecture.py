"""The layout's rules: import arrows (import-linter contracts in .importlinter), module sizes,
and tests that stand alone."""
from __future__ import annotations

import ast
import configparser
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from core.common.paths import ROOT

MAX_MODULE_LINES = 360  # "modules 50-350 lines": a little slack, never a 400-line module


def _lint_imports(cwd: Path) -> subprocess.CompletedProcess:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).with_name("lint-imports"))
    env = dict(os.environ, PYTHONPATH=str(cwd))
    return subprocess.run([exe, "--no-cache"], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def contracts() -> dict[str, dict[str, str]]:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / ".importlinter")
    return {s.split(":")[-1]: dict(cfg[s]) for s in cfg.sections() if ":contract:" in s}


def test_the_contracts_state_the_house_rules(contracts):
    layers = [l.strip() for l in contracts["layers"]["layers"].strip().splitlines()]
    assert layers == ["tools", "crosslingual | dna | spoken_qa | pretrain", "text | speech",
                      "common"]
    assert contracts["gradio"]["forbidden_modules"].split() == ["gradio"]
    assert contracts["plotly"]["forbidden_modules"].split() == ["plotly"]
    assert set(contracts["demos"]["forbidden_modules"].split()) == {"torch", "core.tools"}
    assert contracts["acyclic"]["type"] == "acyclic_siblings"


def test_the_tree_keeps_every_contract():
    done = _lint_imports(ROOT)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert "BROKEN" not in done.stdout and "0 broken" in done.stdout


@pytest.mark.parametrize("module, source, broken", [
    ("core/common/wrong_arrow.py", "from core.dna import lab\n", "Arrows point down"),
    ("core/text/wrong_sibling.py", "from core.speech import frames\n", "Arrows point down"),
    ("core/dna/wrong_finding.py", "from core.pretrain import fake_data\n", "Arrows point down"),
    ("core/speech/wrong_ui.py", "import gradio\n", "gradio only in demos"),
    ("core/dna/wrong_plot.py", "import plotly.graph_objects\n", "plotly only in"),
    ("demos/wrong_torch.py", "import torch\n", "the tabs are thin"),
    ("core/speech/wrong_cycle.py", "from core.speech import extractors\n", "no import cycles"),
])
def test_a_wrong_import_is_caught(tmp_path, module, source, broken):
    """Copies the packages, adds one module that breaks a rule, and expects lint-imports to
    name the broken contract (for the cycle, frames also imports the new module)."""
    for pkg in ("core", "demos"):
        shutil.copytree(ROOT / pkg, tmp_path / pkg,
                        ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / ".importlinter", tmp_path / ".importlinter")
    (tmp_path / module).write_text(source)
    if "cycle" in module:
        frames = tmp_path / "core/speech/frames.py"
        frames.write_text(frames.read_text() + "\nfrom core.speech import wrong_cycle  # noqa\n")
    done = _lint_imports(tmp_path)
    assert done.returncode != 0
    broken_part = done.stdout[done.stdout.index("Broken contracts"):]
    assert broken in broken_part, done.stdout[-3000:]


def _python_files(*folders: str) -> list[Path]:
    return sorted(p for f in folders for p in (ROOT / f).rglob("*.py"))


def test_no_module_is_a_hall():
    sizes = {str(p.relative_to(ROOT)): len(p.read_text(encoding="utf-8").splitlines())
             for p in _python_files("core", "demos") + [ROOT / "app.py"]}
    assert {p: n for p, n in sizes.items() if n > MAX_MODULE_LINES} == {}


def test_no_test_module_imports_another():
    """Shared test code lives in tests/helpers.py and tests/conftest.py only."""
    offenders = []
    for path in _python_files("tests"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            for name in names:
                if name == "conftest" or (name.startswith("tests") and name != "tests.helpers"):
                    offenders.append(f"{path.relative_to(ROOT)}: {name}")
    assert offenders == []
