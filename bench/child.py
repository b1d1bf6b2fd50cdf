"""One measurement in a fresh interpreter, run by bench.py: ``python bench/child.py MODE [ARGS]``.

Only ``sys`` and ``time`` are imported before the timed work, so what the timed work imports is
counted in full. The keys and the fake server's URL come from the environment (KIWOOM_BASE_URL,
KIWOOM_APPKEY, KIWOOM_SECRETKEY). The result is printed last, as one ``RESULT {json}`` line.
"""

import sys
import time

START = time.perf_counter()


def rss_kib() -> int:
    """Resident memory now, in KiB (VmRSS); the peak from getrusage where /proc is missing."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak // 1024 if sys.platform == "darwin" else peak


def emit(result: dict) -> None:
    import json

    print("RESULT " + json.dumps(result), flush=True)


def env_keys() -> tuple[str, str, str]:
    import os

    return os.environ["KIWOOM_BASE_URL"], os.environ["KIWOOM_APPKEY"], os.environ["KIWOOM_SECRETKEY"]


def new_shell(revoker: bool = True):
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.hist_file = ":memory:"  # no history.sqlite on disk
    if not revoker:
        config.KiwoomMagics.revoker = False
    return InteractiveShell.instance(config=config)


def waiting_on_stdin(pid: int) -> bool:
    """Whether the process is blocked reading its stdin (read is syscall 0 on x86-64, 63 on arm64)."""
    try:
        with open(f"/proc/{pid}/syscall") as syscall:
            return syscall.read().startswith(("0 0x0 ", "63 0x0 "))
    except OSError:
        return False


def revoker_settled(pid: int, deadline: float) -> tuple[float, int]:
    """Poll until the revoker waits on its pipe; returns (when, its VmRSS in KiB)."""
    while time.perf_counter() < deadline:
        if waiting_on_stdin(pid):
            settled = time.perf_counter()
            with open(f"/proc/{pid}/status") as status:
                rss = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
            return settled, rss
        time.sleep(0.0005)  # polling the revoker's state, with a deadline
    raise SystemExit("the revoker never settled on its pipe")


def mode_shell(extension: str, login: str, revoker: str = "on") -> None:
    """An InteractiveShell; then %load_ext EXTENSION (kiwoom_nb, or empty_ext beside this file, or
    "none"); then %kiwoom_login if login is 1, with the revoker on or off."""
    shell = new_shell(revoker == "on")
    result = {"shell_s": time.perf_counter() - START, "rss_shell_kib": rss_kib()}
    before = set(sys.modules)
    started = time.perf_counter()
    if extension != "none":
        shell.run_line_magic("load_ext", extension)
    result["load_s"] = time.perf_counter() - started
    result["rss_load_kib"] = rss_kib()
    loaded = set(sys.modules)
    result["load_modules"] = sorted(loaded - before)
    if login == "1":
        spawns: list[tuple[float, float]] = []
        if extension == "kiwoom_nb":  # time the revoker's start (Popen, not waited for) inside the login
            from kiwoom_nb import _exit

            start = _exit.RevokerLink.start

            def timed_start(self, *args, **kwargs):
                began = time.perf_counter()
                try:
                    return start(self, *args, **kwargs)
                finally:
                    spawns.append((began, time.perf_counter()))

            _exit.RevokerLink.start = timed_start
        started = time.perf_counter()
        shell.run_line_magic("kiwoom_login", "")
        result["login_s"] = time.perf_counter() - started
        result["rss_login_kib"] = rss_kib()
        result["login_modules"] = sorted(set(sys.modules) - loaded)
        token = shell.user_ns.get("kiwoom_token")
        if type(token).__name__ != "AccessToken":
            raise SystemExit(f"%kiwoom_login left no token: {token!r}")
        if spawns:
            from kiwoom_nb import _magics

            link = _magics._instances[id(shell)].exit.link
            if not link.active:
                raise SystemExit(f"the revoker is not running: {link.problem}")
            settled, rss = revoker_settled(link.process.pid, time.perf_counter() + 30)
            result.update(revoker_spawn_s=spawns[0][1] - spawns[0][0], revoker_ready_s=settled - spawns[0][0],
                          revoker_rss_kib=rss)
    emit(result)


def mode_per_cell(blocks: str, cells: str, calls: str) -> None:
    """run_cell("pass") in blocks, alternating: extension loaded with a live token / not loaded.

    Then the pre_run_cell hook called directly, against an empty function.
    """
    import gc

    shell = new_shell()
    blocks, cells, calls = int(blocks), int(cells), int(calls)
    for _ in range(max(cells, 200)):  # warm up run_cell itself
        shell.run_cell("pass")
    per_cell = {"with": [], "without": []}
    loaded = False
    for block in range(blocks):
        order = ("with", "without") if block % 2 == 0 else ("without", "with")
        for state in order:
            if state == "with" and not loaded:
                shell.run_line_magic("load_ext", "kiwoom_nb")
                shell.run_line_magic("kiwoom_login", "")
                assert type(shell.user_ns.get("kiwoom_token")).__name__ == "AccessToken"
                loaded = True
            elif state == "without" and loaded:
                shell.run_line_magic("unload_ext", "kiwoom_nb")  # revokes the token, removes the hook
                loaded = False
            gc.collect()
            started = time.perf_counter()
            for _ in range(cells):
                shell.run_cell("pass")
            per_cell[state].append((time.perf_counter() - started) / cells)

    if not loaded:
        shell.run_line_magic("load_ext", "kiwoom_nb")
        shell.run_line_magic("kiwoom_login", "")
    from kiwoom_nb import _magics

    hook = _magics._instances[id(shell)].on_pre_run_cell
    assert hook in shell.events.callbacks["pre_run_cell"]

    def empty(*args):
        pass

    info = object()
    direct = {"hook": [], "empty": []}
    for _ in range(5):
        for name, function in (("hook", hook), ("empty", empty)):
            started = time.perf_counter()
            for _ in range(calls):
                function(info)
            direct[name].append((time.perf_counter() - started) / calls)
    emit({"per_cell": per_cell, "direct": direct})


def mode_warm_login(pairs: str) -> None:
    """kiwoom_nb.issue_token against a reused httpx.Client POST of the same body, call by call."""
    import json

    import httpx

    import kiwoom_nb

    url, appkey, secretkey = env_keys()
    client = httpx.Client()
    body = json.dumps({"grant_type": "client_credentials", "appkey": appkey, "secretkey": secretkey}).encode()
    headers = {"Content-Type": "application/json;charset=UTF-8", "api-id": "au10001"}

    def floor():
        client.post(url + "/oauth2/token", content=body, headers=headers, timeout=10.0)

    def kiwoom():
        kiwoom_nb.issue_token(appkey, secretkey, base_url=url)

    for _ in range(30):  # connect, fill caches
        floor()
        kiwoom()
    times = {"kiwoom_nb": [], "httpx": []}
    for index in range(int(pairs)):
        order = (("kiwoom_nb", kiwoom), ("httpx", floor)) if index % 2 == 0 else (("httpx", floor), ("kiwoom_nb", kiwoom))
        for name, function in order:
            started = time.perf_counter()
            function()
            times[name].append(time.perf_counter() - started)
    emit(times)


def mode_cold_login(which: str) -> None:
    """Import a client and get the first token, from a fresh interpreter."""
    url, appkey, secretkey = env_keys()
    started = time.perf_counter()
    if which == "kiwoom_nb":
        import kiwoom_nb

        imported = time.perf_counter()
        token = str(kiwoom_nb.issue_token(appkey, secretkey, base_url=url))
    elif which == "kiwoom_client":  # its documented entry point
        from kiwoom_client import KiwoomAPI

        imported = time.perf_counter()
        token = KiwoomAPI(appkey, secretkey, base_url=url).login()["token"]
    elif which == "kiwoom_client.auth":  # its lightest path: the auth object alone
        from kiwoom_client.auth import KiwoomAuth

        imported = time.perf_counter()
        token = KiwoomAuth(appkey, secretkey, url).issue_token()["token"]
    else:
        raise SystemExit(f"unknown client {which!r}")
    done = time.perf_counter()
    if not token:
        raise SystemExit("no token")
    emit({"import_s": imported - started, "total_s": done - started, "rss_kib": rss_kib()})


if __name__ == "__main__":
    mode, *arguments = sys.argv[1:]
    globals()["mode_" + mode](*arguments)
