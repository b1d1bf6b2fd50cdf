#!/usr/bin/env python3
"""`make demo`: the bundled fake Kiwoom and JupyterLab on the quickstart notebook, on 127.0.0.1, until Ctrl-C.

JupyterLab gets its own config, data, runtime, settings, workspace and IPython dirs in a temp dir (removed
at exit), so the user's own Jupyter setup is neither read nor touched. Its environment points kiwoom_nb at the
fake server (KIWOOM_BASE_URL / KIWOOM_MOCK_BASE_URL) and carries no KIWOOM_*APPKEY / *SECRETKEY, so
``%kiwoom_login`` shows the login panel. The notebook is a copy of notebooks/quickstart.ipynb in that temp
dir, so the repository's notebook stays clean (``--in-place`` serves notebooks/ itself).

Ctrl-C (or SIGTERM) stops JupyterLab first, so its kernels revoke their tokens at the still-running fake,
then stops the fake and prints what it saw.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
import urllib.error
import urllib.request
import webbrowser
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
NOTEBOOK = "quickstart.ipynb"
# what the demo serves besides the quickstart (which links to live.ipynb), as the banner describes them
ALSO = {"universe.ipynb": "five stocks' candles in one call, compared", "live.ipynb": "a live board and order book",
        "trade.ipynb": "an order ticket, the order feed and positions (mock)"}


def jupyter_environment(home: Path, fake, *, save_widget_state: bool = False) -> dict[str, str]:
    """This process's environment for a Jupyter server with private dirs under ``home``, pointed at ``fake``.

    No KIWOOM_*KEY passes through, and keyring's null backend stands in for the OS keyring (yours is
    neither read nor written), so ``%kiwoom_login`` shows the panel. JupyterLab's user settings there turn
    off its news toast and update checks (:func:`write_lab_settings`). Shared with the e2e tests.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KIWOOM_", "JUPYTER", "IPYTHON"))}
    env.update(
        KIWOOM_BASE_URL=fake.url,
        KIWOOM_MOCK_BASE_URL=fake.mock_url,
        KIWOOM_WS_URL=fake.ws_url,
        KIWOOM_MOCK_WS_URL=fake.mock_ws_url,
        JUPYTER_CONFIG_DIR=str(home / "config"),
        JUPYTER_DATA_DIR=str(home / "data"),
        JUPYTER_RUNTIME_DIR=str(home / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(home / "config" / "lab" / "user-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(home / "config" / "lab" / "workspaces"),
        IPYTHONDIR=str(home / "ipython"),
        XDG_CACHE_HOME=str(home / "cache"),
        JUPYTER_PLATFORM_DIRS="1",
        PYTHONUNBUFFERED="1",
        PYTHON_KEYRING_BACKEND="keyring.backends.null.Keyring",
    )
    write_lab_settings(Path(env["JUPYTERLAB_SETTINGS_DIR"]), save_widget_state=save_widget_state)
    return env


def write_lab_settings(settings_dir: Path, *, save_widget_state: bool = False) -> None:
    """JupyterLab / Notebook 7 user settings: no "get notified about official Jupyter news?" toast (it covers
    the outputs, and ``--LabApp.news_url=None`` does not stop it), no update checks; optionally "Save Widget
    State Automatically"."""
    files = {
        "@jupyterlab/apputils-extension/notification.jupyterlab-settings": {
            "fetchNews": "false", "checkForUpdates": False,
        },
    }
    if save_widget_state:
        files["@jupyter-widgets/jupyterlab-manager/plugin.jupyterlab-settings"] = {"saveState": True}
    for name, value in files.items():
        path = settings_dir / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value))


def _warm_font_cache(env: dict[str, str]) -> None:
    """Build matplotlib's font list in the demo's private cache now, so the first chart in a notebook does not
    print "Matplotlib is building the font cache" under itself (matplotlib says so when that takes over 5 s)."""
    try:
        subprocess.run([sys.executable, "-c", "import matplotlib.font_manager"], env=env, timeout=300,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        pass  # the charts still draw; the notebook may then show matplotlib's one line


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def _server_info(runtime: Path, pid: int) -> dict | None:
    """The jpserver-PID.json Jupyter writes once it listens: it holds the real port."""
    path = runtime / f"jpserver-{pid}.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _answers(url: str, token: str) -> bool:
    request = urllib.request.Request(f"{url}api/status", headers={"Authorization": f"token {token}"})
    try:
        with urllib.request.urlopen(request, timeout=2):
            return True
    except (OSError, urllib.error.URLError):
        return False


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _stop(process: subprocess.Popen, timeout: float) -> None:
    """SIGTERM: Jupyter shuts its kernels down gracefully (they revoke their tokens), then exits."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        print(f"JupyterLab did not stop within {timeout:.0f} s; killing it", flush=True)
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=8888, help="JupyterLab's port (the next free one if taken)")
    parser.add_argument("--kiwoom-port", type=int, default=0, help="the fake Kiwoom's port (default: any free one)")
    parser.add_argument("--open", action="store_true", help="open the notebook in the default browser")
    parser.add_argument("--in-place", action="store_true",
                        help="serve the repository's notebooks/ (edits and outputs are saved there) instead of a copy")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (Jupyter's log, the notebook copy)")
    args = parser.parse_args(argv)

    try:
        import jupyterlab  # noqa: F401
    except ImportError:
        print("JupyterLab is not installed in this Python; run `make demo`, which installs the demo extra", file=sys.stderr)
        return 1
    from kiwoom_nb.testing import FakeKiwoom
    from kiwoom_nb.testing._trs import serves

    signal.signal(signal.SIGTERM, _interrupt)
    if hasattr(signal, "SIGHUP"):  # the terminal closed
        signal.signal(signal.SIGHUP, _interrupt)
    work = Path(tempfile.mkdtemp(prefix="kiwoom-demo-"))
    fake = FakeKiwoom(log=lambda line: print("  " + line, flush=True)).start(port=args.kiwoom_port)  # what it answered
    process: subprocess.Popen | None = None
    log = work / "jupyterlab.log"
    status = 0
    try:
        if args.in_place:
            root = REPO / "notebooks"
        else:
            root = work / "notebooks"
            root.mkdir()
            for name in (NOTEBOOK, *ALSO):
                shutil.copy2(REPO / "notebooks" / name, root / name)
        home = work / "jupyter"
        env = jupyter_environment(home, fake)
        _warm_font_cache(env)
        token = secrets.token_urlsafe(24)
        command = [
            sys.executable, "-m", "jupyterlab", "--no-browser",
            "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={args.port}", "--ServerApp.allow_root=True",
            f"--IdentityProvider.token={token}", f"--ServerApp.root_dir={root}",
            "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
        ]
        print(f"Starting the fake Kiwoom at {fake.url} and JupyterLab (log: {log}) …", flush=True)
        with open(log, "wb") as out:
            # its own session: the terminal's Ctrl-C reaches only this script, which then stops Jupyter in order
            process = subprocess.Popen(command, env=env, cwd=root, stdin=subprocess.DEVNULL, stdout=out,
                                       stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 120
        info = None
        while info is None or not _answers(info["url"], token):
            if process.poll() is not None:
                print(f"JupyterLab exited with code {process.returncode}:\n{_tail(log)}", file=sys.stderr)
                return 1
            if time.monotonic() > deadline:
                print(f"JupyterLab did not start within 120 s:\n{_tail(log)}", file=sys.stderr)
                return 1
            info = info or _server_info(home / "runtime", process.pid)
            time.sleep(0.2)
        url = f"{info['url']}lab/tree/{NOTEBOOK}?token={token}"
        also = "\n".join(f"  {'Also:' if i == 0 else '':<13}{info['url']}lab/tree/{name}?token={token}   {what}"
                         for i, (name, what) in enumerate(ALSO.items()))
        keys = fake.keys
        serving = textwrap.fill(serves(), 104, initial_indent="  It serves:   ", subsequent_indent=" " * 15)
        print(
            "\n"
            "  kiwoom_nb demo — a fake Kiwoom server, nothing reaches the real one\n"
            f"  Open:        {url}\n"
            f"{also}\n"
            f"  Fake Kiwoom: production {fake.url}   mock {fake.mock_url}\n"
            f"{serving}\n"
            f"  Demo keys:   실전투자 (production)  app key {keys['production'][0]}  secret key {keys['production'][1]}\n"
            f"               모의투자 (mock)        app key {keys['mock'][0]}  secret key {keys['mock'][1]}\n"
            f"  Notebook:    {root / NOTEBOOK}{'' if args.in_place else ' (a copy; removed at exit)'}\n"
            "  Run the cells; %kiwoom_login shows the login panel: paste the keys and click 로그인 Log in.\n"
            "  Ctrl-C stops JupyterLab and the fake server.\n",
            flush=True,
        )
        if args.open:
            webbrowser.open(url)
        process.wait()
        print(f"JupyterLab exited by itself (code {process.returncode}):\n{_tail(log)}", file=sys.stderr)
        status = 1
    except KeyboardInterrupt:
        print("\nStopping JupyterLab (its kernels revoke their tokens) …", flush=True)
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        if process is not None:
            _stop(process, 30)
        fake.stop()
        print(f"Stopped. {fake.summary()}.", flush=True)  # the same line as python -m kiwoom_nb.testing
        if args.keep:
            print(f"Kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
