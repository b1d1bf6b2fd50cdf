"""The login as notebooks are really run: nbval, papermill and nbconvert (headless), Voilà's kernels,
and Run All before anyone has logged in through the panel.

Headless runs must fail at the login cell with the one-line message, as a real error (an IOPub
``error`` whose evalue is the line), never a stderr stream a runner counts as a pass.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from kiwoom_nb.auth._lines import _NOT_SET
from support import CANARY

pytestmark = pytest.mark.kernel

WIDGET = "application/vnd.jupyter.widget-view+json"
CELLS = [
    "%load_ext kiwoom_nb",
    "%kiwoom_login",
    "%kiwoom_login --mock --var mock_token",
    "print('tokens:', len(kiwoom_token) > 20, len(mock_token) > 20)",
]


def write(path: Path, cells: list[str] = CELLS) -> Path:
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def env_for(kernel_env: dict[str, str], fake, *, keys: bool) -> dict[str, str]:
    env = {k: v for k, v in kernel_env.items() if not k.startswith("KIWOOM_")}
    env.update(KIWOOM_BASE_URL=fake.url, KIWOOM_MOCK_BASE_URL=fake.mock_url)
    if keys:
        env.update(fake.environ("production"))
        env.update(fake.environ("mock"))
    return env


def run(command: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True, timeout=180,
                          stdin=subprocess.DEVNULL)


def nothing_secret_in(path: Path, fake) -> None:
    text = path.read_text()
    secrets = [*CANARY["production"], *CANARY["mock"]]
    for issued in fake.tokens:
        secrets += [issued.value, issued.value[:-4]]
    assert not [s[:10] + "…" for s in secrets if s in text]


# -- nbval -------------------------------------------------------------------------------------------


def nbval(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    write(tmp_path / "login.ipynb")
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not this project's options
    return run([sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:cacheprovider", "-v", "-rfE", "login.ipynb"],
               env, tmp_path)


def test_nbval_without_keys_fails_at_the_login_cell_with_the_one_line_message(fake, kernel_env, tmp_path):
    done = nbval(tmp_path, env_for(kernel_env, fake, keys=False))
    out = done.stdout
    assert done.returncode == 1, out
    assert re.search(r"^FAILED login\.ipynb::Cell 1\b", out, re.M), out
    assert not re.search(r"^FAILED login\.ipynb::Cell 0\b", out, re.M), out
    # the cell's report is the one line, not a traceback wall
    report = re.split(r"_+ login\.ipynb::Cell \d _+", out)[1]
    assert "CredentialsError: no Kiwoom keys found" in report and "KIWOOM_APPKEY" in report, report
    assert "Traceback (most recent call last)" not in report, report
    assert fake.issues == []


def test_nbval_with_keys_passes(fake, kernel_env, tmp_path):
    done = nbval(tmp_path, env_for(kernel_env, fake, keys=True))
    assert done.returncode == 0, done.stdout
    assert "4 passed" in done.stdout, done.stdout
    assert {r.environment for r in fake.issues} == {"production", "mock"}


# -- papermill and nbconvert --------------------------------------------------------------------------


def test_papermill_without_keys_shows_the_line_on_its_console(fake, kernel_env, tmp_path):
    write(tmp_path / "in.ipynb")
    done = run([sys.executable, "-m", "papermill", "in.ipynb", "out.ipynb"], env_for(kernel_env, fake, keys=False),
               tmp_path)
    console = done.stdout + done.stderr
    assert done.returncode != 0
    assert 'Exception encountered at "In [2]"' in console, console
    assert "CredentialsError" in console and "KIWOOM_APPKEY" in console, console
    saved = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    [login] = [c for c in saved.cells if c.source == "%kiwoom_login"]  # papermill adds a cell of its own on top
    [error] = [o for o in login.outputs if o.output_type == "error"]
    assert error.ename == "CredentialsError" and "KIWOOM_APPKEY" in error.evalue
    assert error.traceback == [f"CredentialsError: {error.evalue}"]  # one line, not a wall


def test_papermill_with_keys_passes_and_saves_no_secret(fake, kernel_env, tmp_path):
    write(tmp_path / "in.ipynb")
    done = run([sys.executable, "-m", "papermill", "in.ipynb", "out.ipynb"], env_for(kernel_env, fake, keys=True),
               tmp_path)
    assert done.returncode == 0, done.stderr
    saved = nbformat.read(tmp_path / "out.ipynb", as_version=4)
    assert "tokens: True True" in saved.cells[-1].outputs[0].text
    nothing_secret_in(tmp_path / "out.ipynb", fake)


def nbconvert(tmp_path: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    write(tmp_path / "in.ipynb")
    return run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", "in.ipynb",
                "--output", "out.ipynb"], env, tmp_path)


def test_nbconvert_without_keys_fails_at_once(fake, kernel_env, tmp_path):
    done = nbconvert(tmp_path, env_for(kernel_env, fake, keys=False))
    assert done.returncode != 0
    assert "CredentialsError" in done.stderr and "KIWOOM_APPKEY" in done.stderr, done.stderr
    assert fake.issues == []


def test_nbconvert_with_keys_passes_and_saves_no_secret(fake, kernel_env, tmp_path):
    done = nbconvert(tmp_path, env_for(kernel_env, fake, keys=True))
    assert done.returncode == 0, done.stderr
    nothing_secret_in(tmp_path / "out.ipynb", fake)


# -- which way to ask, in a real kernel -----------------------------------------------------------------


def widgets_shown(result) -> int:
    return len([o for o in result.outputs if o["msg_type"] == "display_data" and WIDGET in o["content"]["data"]])


def test_a_headless_run_shows_no_panel(fake, kernel_env, start_kernel):
    kernel = start_kernel(env=env_for(kernel_env, fake, keys=False))
    kernel.ok("%load_ext kiwoom_nb")
    result = kernel.run("%kiwoom_login", allow_stdin=False)
    assert result.reply["ename"] == "CredentialsError"
    assert widgets_shown(result) == 0


def test_voila_gets_the_panel_although_it_allows_no_stdin(fake, kernel_env, start_kernel):
    # what Voilà 0.5 puts into the environment of the kernels it starts
    env = {**env_for(kernel_env, fake, keys=False), "SERVER_SOFTWARE": "voila/0.5.13", "VOILA_PREHEAT": "False",
           "VOILA_BASE_URL": "/"}
    kernel = start_kernel(env=env)
    kernel.ok("%load_ext kiwoom_nb")
    result = kernel.run("%kiwoom_login", allow_stdin=False)
    assert result.reply["status"] == "ok", result.error
    assert widgets_shown(result) == 1


# -- Run All before the panel was used ------------------------------------------------------------------


def test_a_cell_using_the_token_before_the_panel_login_fails_with_one_line(fake, kernel_env, start_kernel):
    kernel = start_kernel(env=env_for(kernel_env, fake, keys=False))
    kernel.ok("%load_ext kiwoom_nb")
    shown = kernel.run("%kiwoom_login", allow_stdin=True)
    assert widgets_shown(shown) == 1
    cell = shown.reply["execution_count"]

    result = kernel.run("print(kiwoom_token[:4])", allow_stdin=True)
    expected = _NOT_SET.format(var="kiwoom_token", cell=cell)
    assert result.reply["status"] == "error"
    assert (result.reply["ename"], result.reply["evalue"]) == ("NameError", expected)
    assert result.error["traceback"] == [f"NameError: {expected}"]

    # any other NameError keeps its usual traceback, and an earlier custom handler still runs
    other = kernel.run("print(no_such_name)", allow_stdin=True)
    assert other.reply["evalue"] == "name 'no_such_name' is not defined"
    assert len(other.error["traceback"]) > 1
    kernel.ok("def _mine(shell, etype, value, tb, tb_offset=None):\n    print('custom handler ran')\n"
              "get_ipython().set_custom_exc((ZeroDivisionError,), _mine)")
    second = kernel.ok("%kiwoom_login", allow_stdin=True)  # a second panel: our handler chains the one just set
    assert "custom handler ran" in kernel.run("1/0").stdout
    again = kernel.run("kiwoom_token")
    cell = second.reply["execution_count"]
    assert again.error["traceback"] == ["NameError: " + _NOT_SET.format(var="kiwoom_token", cell=cell)]


def test_the_quickstart_says_how_to_run_it():
    quickstart = json.loads((Path(__file__).resolve().parents[2] / "notebooks" / "quickstart.ipynb").read_text())
    first = "".join(quickstart["cells"][0]["source"])
    assert quickstart["cells"][0]["cell_type"] == "markdown"
    assert "Run All" in first or "run the cells" in first.lower(), first


def test_strict_nbval_needs_the_ignore_marker_on_cells_showing_times_and_tokens(fake, kernel_env, tmp_path):
    """What the README says about strict --nbval: the login and status cells differ on every run (a new
    token, a new expiry), and `# NBVAL_IGNORE_OUTPUT` is what makes a recorded notebook pass."""
    env = env_for(kernel_env, fake, keys=True)
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    cells = ["%load_ext kiwoom_nb", "%kiwoom_login", "%kiwoom_status", "print(len(kiwoom_token) > 20)"]
    for name, marked in (("plain", cells), ("marked", [cells[0], *("# NBVAL_IGNORE_OUTPUT\n" + c for c in cells[1:3]),
                                                        cells[3]])):
        write(tmp_path / f"{name}.ipynb", marked)
        recorded = run([sys.executable, "-m", "jupyter", "nbconvert", "--to", "notebook", "--execute", f"{name}.ipynb",
                        "--inplace"], env, tmp_path)
        assert recorded.returncode == 0, recorded.stderr
    strict = [sys.executable, "-m", "pytest", "--nbval", "-p", "no:cacheprovider", "-q", "-rfE"]
    plain = run([*strict, "plain.ipynb"], env, tmp_path)
    assert plain.returncode == 1 and re.search(r"^FAILED plain\.ipynb::Cell 2\b", plain.stdout, re.M), plain.stdout
    marked = run([*strict, "marked.ipynb"], env, tmp_path)
    assert marked.returncode == 0, marked.stdout
