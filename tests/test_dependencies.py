"""Every third-party module imported under src/ is a declared dependency.

A fresh machine has nothing but what pyproject.toml declares: an import that only works because the
developer's machine happens to have the package (click, once) fails there. Imports inside functions
count too, since a lazy import still needs the package.
"""

from __future__ import annotations

import ast
import importlib.metadata as md
import re
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src"


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _declared() -> set[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    reqs = list(project.get("dependencies", []))
    for extra in project.get("optional-dependencies", {}).values():
        reqs += extra
    return {_norm(re.split(r"[\s\[<>=!~;]", r, maxsplit=1)[0]) for r in reqs}


def _imports() -> dict[str, list[str]]:
    own = {p.name for p in SRC.iterdir()}
    found: dict[str, list[str]] = {}
    for path in SRC.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in own or top == "__future__":
                    continue
                found.setdefault(top, []).append(f"{path.relative_to(ROOT)}:{node.lineno}")
    return found


# import name -> distribution, where they differ: the check must not depend on what happens to be
# installed (packages_distributions only knows installed packages)
KNOWN_OWNERS = {
    "docx": ["python-docx"],
    "fhir": ["fhir.resources"],
    "yaml": ["PyYAML"],
    "python_calamine": ["python-calamine"],
    "argon2": ["argon2-cffi"],
}


def test_every_third_party_import_is_declared():
    declared = _declared()
    owners = {**md.packages_distributions(), **KNOWN_OWNERS}
    undeclared = {
        top: where
        for top, where in _imports().items()
        if not {_norm(d) for d in owners.get(top, [top])} & declared
    }
    assert not undeclared, (
        "imports whose distribution pyproject.toml does not declare: "
        + "; ".join(f"{top} ({', '.join(where[:3])})" for top, where in sorted(undeclared.items()))
    )


def test_the_check_sees_lazy_imports():
    # the click import that once broke fresh installs sat inside a function; matplotlib is
    # imported only inside functions (for the HTML report), so the check must still see it
    assert "matplotlib" in _imports()
