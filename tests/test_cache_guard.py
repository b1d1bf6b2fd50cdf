"""The root conftest's cache guard fails a run for what the run wrote into the user's own cache, and only that
(issue 19, finding 12: `make test` failed because the developer's own IPython session was logged in)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from kiwoom_nb.testing import wait_until

ROOT = Path(__file__).resolve().parents[1]

INNER = """
import os
from pathlib import Path

from kiwoom_nb.auth._holders import Holders
from kiwoom_nb.testing import wait_until


def test_a_user_logs_in_meanwhile():
    Path(os.environ["STARTED"]).touch()
    wait_until(lambda: Path(os.environ["READY"]).exists(), 60, "the user's own login")
    if os.environ.get("WRITE_REAL"):  # a test that wrongly uses the user's cache
        Holders(Path(os.environ["WRITE_REAL"]) / "kiwoom_nb" / "holders").add("a-token-of-the-run")
"""

USER_SESSION = """
import sys
from pathlib import Path
from IPython.testing.globalipapp import start_ipython

shell = start_ipython()
shell.run_line_magic("load_ext", "kiwoom_nb")
shell.run_line_magic("kiwoom_login", "")
Path(sys.argv[1]).touch()
sys.stdin.read()  # logged in until the test closes stdin
"""


def inner_run(tmp_path: Path, fake, *, write_real: bool) -> tuple[subprocess.CompletedProcess, int]:
    """A pytest run with the project's conftest, during which an IPython session outside it logs in with a cache
    in ``real`` (the user's own)."""
    project = tmp_path / "project"
    project.mkdir()
    shutil.copy(ROOT / "conftest.py", project / "conftest.py")
    (project / "pytest.ini").write_text("[pytest]\n")
    (project / "test_inner.py").write_text(INNER)
    real = tmp_path / "user-cache"
    started, ready = tmp_path / "started", tmp_path / "ready"
    env = {**os.environ, "XDG_CACHE_HOME": str(real), "STARTED": str(started), "READY": str(ready)}
    if write_real:
        env["WRITE_REAL"] = str(real)
    run = subprocess.Popen([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_inner.py"],
                           cwd=project, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    user = None
    try:
        wait_until(started.exists, 60, "the inner run to start its test")
        # the user's own IPython: no marker of any test run, the user's cache
        user_env = {k: v for k, v in os.environ.items() if k != "KIWOOM_NB_TEST_RUN" and not k.startswith("KIWOOM_")}
        user_env.update(fake.environ("production"), XDG_CACHE_HOME=str(real), IPYTHONDIR=str(tmp_path / "ipython"))
        user = subprocess.Popen([sys.executable, "-c", USER_SESSION, str(ready)], env=user_env, stdin=subprocess.PIPE,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        output, _ = run.communicate(timeout=120)
        holders = sorted(p.relative_to(real) for p in real.rglob("*") if p.is_file())
        assert any(str(p).endswith(str(user.pid)) for p in holders), holders  # the user's session did write there
        return subprocess.CompletedProcess(run.args, run.returncode, output), user.pid
    finally:
        run.kill()
        if user is not None:
            user.stdin.close()
            user.wait(timeout=30)


def test_a_users_own_logged_in_session_does_not_fail_the_run(fake, tmp_path):
    done, _ = inner_run(tmp_path, fake, write_real=False)
    assert done.returncode == 0, done.stdout
    assert "1 passed" in done.stdout and "wrote into the user's own cache" not in done.stdout


def test_what_the_run_itself_writes_there_fails_it_and_is_named(fake, tmp_path):
    done, user_pid = inner_run(tmp_path, fake, write_real=True)
    assert done.returncode == 1, done.stdout
    [line] = [line for line in done.stdout.splitlines() if "wrote into the user's own cache" in line]
    named = line.split(": ", 1)[1].split("; every")[0].split(", ")
    assert len(named) == 1 and named[0].startswith("holders/"), line  # the run's entry, not the user's
    assert not named[0].endswith(f"/{user_pid}"), line
