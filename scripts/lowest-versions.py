"""`make test-min`: print every direct dependency's declared lower bound next to the version installed.

Fails when they differ: a bound the resolver could not install (lowest-direct) is a bound nobody tested.
Usage: lowest-versions.py [EXTRA ...]   (the extras installed besides the runtime dependencies)
"""

from __future__ import annotations

import sys
try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10: pytest brings tomli there
    import tomli as tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version


def lower_bound(req: Requirement) -> Version | None:
    bounds = [Version(s.version) for s in req.specifier if s.operator in (">=", "==", "~=")]
    return max(bounds) if bounds else None


def main(extras: list[str]) -> int:
    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text("utf-8"))["project"]
    wanted = [(r, "runtime") for r in project["dependencies"]]
    for extra in extras:
        wanted += [(r, extra) for r in project["optional-dependencies"][extra]]
    problems, seen = [], set()
    print(f"{'direct dependency':<20} {'from':<8} {'declared':<12} installed")
    for text, origin in wanted:
        req = Requirement(text)
        if req.name.lower() in seen or (req.marker and not req.marker.evaluate({"extra": origin})):
            continue
        seen.add(req.name.lower())
        low = lower_bound(req)
        try:
            installed = Version(version(req.name))
        except PackageNotFoundError:
            installed = None
        print(f"{req.name:<20} {origin:<8} {str(req.specifier):<12} {installed}")
        if low is None:
            problems.append(f"{req.name}: declare a lower bound")
        elif installed != low:
            problems.append(f"{req.name}: declared {req.specifier} but the lowest that installs is {installed}: "
                            f"raise the bound to >={installed} (or find what holds it up)")
    for line in problems:
        print("lowest-versions:", line, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
