"""The package runs on every Python pyproject.toml declares: vermin checks syntax and stdlib use statically.

Only Python 3.11 runs the suite here; this is what stands in for 3.10 (README, "Install").
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


def test_the_package_needs_no_newer_python_than_declared():
    result = vermin(ROOT / "kiwoom_nb")
    assert "Analyzing" in result.stdout, result  # it did read the files
    assert result.returncode == 0 and "Target versions not met" not in result.stdout, result.stdout


def test_the_check_catches_code_newer_than_declared(tmp_path):
    # each needs 3.11: a stdlib module, a statement, a typing member
    for name, source in {"mod.py": "import tomllib\n", "stmt.py": "try:\n    pass\nexcept* ValueError:\n    pass\n",
                         "member.py": "from typing import Self\n"}.items():
        (tmp_path / name).write_text(source)
        result = vermin(tmp_path / name)
        assert result.returncode != 0 and "Target versions not met" in result.stdout, (name, result.stdout)
        assert "3.11" in result.stdout
