"""DESIGN.md's "what may import what", and no import cycles.

The contracts live in pyproject.toml (``[tool.importlinter]``) and run through
``lint-imports``; bot/ is not a package of the main environment, so its imports
are read from its source; cycles are found on grimp's graph (import-linter's).
Known violations are listed explicitly, so only a new one fails.
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

#: Import cycles there are today, each as the chain that comes back to its start.
KNOWN_CYCLES: tuple[tuple[str, ...], ...] = (
    # known, being removed (issue 17)
    ("backend.celery_app", "backend.tasks", "backend.celery_app"),
    # known, being removed (issue 17)
    ("backend.tasks", "webhooks.relay", "backend.tasks"),
    # known, being removed (issue 17)
    (
        "voice_skills.alexa.handlers",
        "voice_skills.alexa.model",
        "voice_skills.alexa.handlers",
    ),
)

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
        [str(lint), "--config", str(REPO / "pyproject.toml"), "--no-cache"],
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


def find_cycles(
    graph: grimp.ImportGraph, known_edges: set[tuple[str, str]]
) -> list[list[str]]:
    """Each import that is part of a cycle and not in ``known_edges``, as the
    chain ``importer -> imported -> ... -> importer``.

    A package's ``__init__`` importing its own modules (Flask's blueprint idiom:
    the blueprint made first, its views imported last to register on it) is how
    the package is put together, not a cycle between modules, and is not
    counted.
    """
    cycles = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            if imported.startswith(importer + "."):
                continue
            if (importer, imported) in known_edges:
                continue
            back = _chain_back(graph, imported, importer)
            if back:
                cycles.append([importer, *back])
    return cycles


def _chain_back(graph: grimp.ImportGraph, start: str, end: str) -> list[str] | None:
    """The shortest chain from ``start`` to ``end`` that takes no
    package-to-own-module import (see :func:`find_cycles`)."""
    # breadth-first: grimp's own shortest chain may pass through those imports
    previous: dict[str, str | None] = {start: None}
    frontier = [start]
    while frontier:
        following = []
        for module in frontier:
            for nxt in sorted(graph.find_modules_directly_imported_by(module)):
                if nxt in previous or nxt.startswith(module + "."):
                    continue
                previous[nxt] = module
                if nxt == end:
                    chain = [nxt]
                    while previous[chain[-1]] is not None:
                        chain.append(previous[chain[-1]])  # type: ignore[arg-type]
                    return chain[::-1]
                following.append(nxt)
        frontier = following
    return None


def _edges(chains: Iterable[tuple[str, ...]]) -> set[tuple[str, str]]:
    return {(a, b) for chain in chains for a, b in zip(chain, chain[1:], strict=False)}


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*PACKAGES)


def test_nothing_imports_in_a_cycle(graph):
    cycles = find_cycles(graph, _edges(KNOWN_CYCLES))
    assert not cycles, "new import cycles:\n" + "\n".join(
        " -> ".join(chain) for chain in cycles
    )


def test_the_cycle_check_finds_a_cycle_and_reports_its_chain():
    graph = grimp.build_graph(*PACKAGES)  # its own: this one is changed
    graph.add_import(importer="matching.encoder", imported="backend.services.rules")
    graph.add_import(importer="backend.services.rules", imported="matching.ranking")
    graph.add_import(importer="matching.ranking", imported="matching.encoder")
    cycles = find_cycles(graph, _edges(KNOWN_CYCLES))
    assert [
        "matching.encoder",
        "backend.services.rules",
        "matching.ranking",
        "matching.encoder",
    ] in cycles
