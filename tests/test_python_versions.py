"""The package runs on every Python pyproject.toml declares: vermin checks syntax and stdlib use statically.

CI runs the whole suite on the lowest and the highest Python declared (.ci/run); this check covers the
code paths the suite does not reach, on whichever Python runs it (README, "Install").
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def declared_minimum() -> str:
    text = (ROOT / "pyproject.toml").read_text("utf-8")
    return re.search(r'^requires-python\s*=\s*">=\s*(\d+\.\d+)"', text, re.M).group(1)


def vermin(*paths: Path) -> subprocess.CompletedProcess:
    args = [f"--target={declared_minimum()}-", "--violations", "--no-tips", "--eval-annotations", *map(str, paths)]
    return subprocess.run([sys.executable, "-c", "import sys, vermin; sys.exit(vermin.main())", *args],
                          capture_output=True, text=True, timeout=60)


def too_new(result: subprocess.CompletedProcess) -> bool:
    """vermin found code the declared minimum cannot run: a rule broken, or a file it could not parse.

    vermin parses with the Python that runs it, so syntax newer than that Python is a parse error, which
    vermin reports ("error: invalid syntax") with exit code 0.
    """
    return (result.returncode != 0 and "Target versions not met" in result.stdout) or "invalid syntax" in result.stdout


def test_the_package_needs_no_newer_python_than_declared():
    result = vermin(ROOT / "kiwoom_nb")
    assert "Analyzing" in result.stdout, result  # it did read the files
    assert result.returncode == 0 and not too_new(result), result.stdout


def test_the_check_catches_code_newer_than_declared(tmp_path):
    # each needs 3.11: a stdlib module, a statement, a typing member
    for name, source in {"mod.py": "import tomllib\n", "stmt.py": "try:\n    pass\nexcept* ValueError:\n    pass\n",
                         "member.py": "from typing import Self\n"}.items():
        (tmp_path / name).write_text(source)
        result = vermin(tmp_path / name)
        assert too_new(result), (name, result.stdout)
        if name == "stmt.py" and sys.version_info < (3, 11):
            assert "invalid syntax" in result.stdout  # 3.10 itself cannot parse except*: caught as such
        else:
            assert "Target versions not met" in result.stdout and "3.11" in result.stdout, (name, result.stdout)
