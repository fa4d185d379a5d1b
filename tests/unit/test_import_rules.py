"""DESIGN.md's "what may import what", and no import cycles.

The contracts live in pyproject.toml (``[tool.importlinter]``) and run through
``lint-imports``; bot/ is not a package of the main environment, so its imports
are read from its source; cycles are found on grimp's graph (import-linter's).
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path

import grimp
import pytest

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("backend", "webhooks", "voice_skills", "matching")

#: bot/ files allowed to import one of our packages, with what they import.
BOT_KNOWN: dict[str, set[str]] = {
    # a build step run in the main environment (make bot-encoder), never by Rasa:
    # it exports matching's encoder for the bot's pipeline
    "bot/tools/export_encoder.py": {"matching.encoder"},
}


def test_import_contracts_hold():
    lint = Path(sys.executable).with_name("lint-imports")
    # this checkout's packages, whichever one the environment was installed from
    env = os.environ | {"PYTHONPATH": str(REPO)}
    result = subprocess.run(
        [str(lint), str(REPO / "pyproject.toml"), "--no-cache"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, (
        "an import breaks DESIGN.md's 'what may import what' (pyproject.toml, "
        "[tool.importlinter]):\n" + result.stdout[result.stdout.find("Contracts") :]
    )


def _bot_imports() -> Iterable[tuple[str, int, str]]:
    for path in sorted((REPO / "bot").rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        if relative.startswith("bot/.venv/"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    yield relative, node.lineno, alias.name
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                yield relative, node.lineno, node.module


def test_the_bot_imports_nothing_of_ours():
    bad = [
        f"{file}:{line} imports {module}"
        for file, line, module in _bot_imports()
        if module.split(".")[0] in PACKAGES and module not in BOT_KNOWN.get(file, set())
    ]
    assert not bad, "the bot reaches the backend only over HTTP:\n" + "\n".join(bad)


def find_cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Each import that is part of a cycle, as the chain
    ``importer -> imported -> ... -> importer``.

    A package importing its own modules counts like any other import: a
    blueprint lives in a module of its own (``backend/api/blueprint.py``...),
    so the views that register on it never import their package back.
    """
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                cycles.append([importer, *back])
    return cycles


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES)


def test_nothing_imports_in_a_cycle(graph):
    cycles = find_cycles(graph)
    assert not cycles, "import cycles:\n" + "\n".join(
        " -> ".join(chain) for chain in cycles
    )


def test_the_cycle_check_finds_a_cycle_and_reports_its_chain():
    graph = grimp.build_graph(*PACKAGES)  # its own: this one is changed
    graph.add_import(importer="matching.encoder", imported="backend.services.rules")
    graph.add_import(importer="backend.services.rules", imported="matching.ranking")
    graph.add_import(importer="matching.ranking", imported="matching.encoder")
    cycles = find_cycles(graph)
    assert [
        "matching.encoder",
        "backend.services.rules",
        "matching.ranking",
        "matching.encoder",
    ] in cycles
