"""Find instrument definitions: built-in ones by id, user ones by path."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from .errors import UsageError
from .instrument import Bundle, Instrument, load_definition


def builtin_dir() -> Path:
    """Folder of the built-in definitions: inside the wheel, or the repository's instruments/."""
    packaged = Path(str(resources.files("psyscore"))) / "instruments"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "instruments"


@cache
def _builtin_paths() -> dict[str, Path]:
    paths = {}
    for path in sorted(builtin_dir().glob("*.yaml")):
        paths[path.stem] = path
    return paths


@cache
def _load_cached(path: Path) -> Instrument | Bundle:
    return load_definition(path)


def builtin_ids() -> list[str]:
    return list(_builtin_paths())


def load(ref: str | Path) -> Instrument | Bundle:
    """Load a definition by built-in id (case-insensitive) or by path to a YAML file.

    >>> import psyscore
    >>> phq = psyscore.load("phq-9")
    >>> phq.name, len(phq.items), list(phq.scores)
    ('Patient Health Questionnaire-9', 10, ['total'])
    >>> psyscore.load("PHQ9").id  # case and hyphens do not matter
    'phq-9'
    >>> [m for m in psyscore.load("program-intake").instruments][:2]
    ['mrni-sf', 'erq']
    """
    ref_str = str(ref)
    path = Path(ref_str)
    if path.suffix.lower() in {".yaml", ".yml"} or path.exists():
        if path.is_dir():
            raise UsageError(f"{ref_str}: is a folder, not a definition file")
        if not path.is_file():
            raise UsageError(f"{ref_str}: no such definition file")
        return _load_cached(path.resolve())
    paths = _builtin_paths()
    key = ref_str.lower()
    if key not in paths:
        # accept "phq9" for "phq-9" and the like
        squashed = {k.replace("-", "").replace("_", ""): k for k in paths}
        key = squashed.get(key.replace("-", "").replace("_", ""), key)
    if key not in paths:
        known = ", ".join(paths) or "(none)"
        raise UsageError(
            f"unknown instrument {ref_str!r}. Built-in: {known}. "
            "Give a path to a YAML file for your own definition."
        )
    return _load_cached(paths[key])


def resolve_instruments(refs: list[str]) -> list[Instrument]:
    """Expand bundles and drop repeats, keeping the order given."""
    seen: dict[str, Instrument] = {}
    for ref in refs:
        defn = load(ref)
        members = [load(m) for m in defn.instruments] if isinstance(defn, Bundle) else [defn]
        for inst in members:
            if isinstance(inst, Bundle):
                raise UsageError(f"bundle {defn.id!r} contains another bundle {inst.id!r}")
            seen.setdefault(inst.id, inst)
    return list(seen.values())


@dataclass(frozen=True)
class Entry:
    id: str
    path: Path
    definition: Instrument | Bundle


def builtin_entries() -> list[Entry]:
    return [Entry(i, p, _load_cached(p)) for i, p in _builtin_paths().items()]


def builtin_instruments() -> list[Instrument]:
    """Every built-in instrument (bundles left out)."""
    return [e.definition for e in builtin_entries() if isinstance(e.definition, Instrument)]
