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
            from kiwoom_nb.auth import _exit

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
            from kiwoom_nb.notebook import _load

            link = _load._instances[id(shell)].exit.link
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
    from kiwoom_nb.notebook import _load

    hook = _load._instances[id(shell)].on_pre_run_cell
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


def alternated(pairs: str, kiwoom, floor) -> dict[str, list[float]]:
    """Time ``kiwoom()`` against ``floor()`` call by call, alternating which goes first, after 30 warm-up pairs."""
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
    return times


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

    emit(alternated(pairs, kiwoom, floor))


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


def mode_tr_call(pairs: str) -> None:
    """kiwoom_nb Client.call (unpaced) against a reused httpx.Client POST with the same headers and body."""
    import json

    import httpx

    import kiwoom_nb

    url, appkey, secretkey = env_keys()
    api = kiwoom_nb.Client(appkey, secretkey, base_url=url, pace=None)
    token = api.tokens.current()
    client = httpx.Client()
    body = json.dumps({"stk_cd": "005930"}).encode()
    headers = {"Content-Type": "application/json;charset=UTF-8", "api-id": "ka10001",
               "authorization": f"Bearer {token}", "cont-yn": "N", "next-key": ""}

    def floor():
        data = client.post(url + "/api/dostk/stkinfo", content=body, headers=headers, timeout=10.0).json()
        assert data["return_code"] == 0

    def kiwoom():
        api.call("ka10001", stk_cd="005930")

    times = alternated(pairs, kiwoom, floor)
    api.close()
    emit(times)


def mode_paced(which: str, calls: str) -> None:
    """``calls`` ka10001 requests in a loop against a fake that allows a few per second; how long it took."""
    url, appkey, secretkey = env_keys()
    calls = int(calls)
    if which == "kiwoom_nb":
        import kiwoom_nb

        api = kiwoom_nb.Client(appkey, secretkey, base_url=url)  # default pace
        api.tokens.current()
        call = lambda: api.call("ka10001", stk_cd="005930")  # noqa: E731
    elif which.startswith("kiwoom_client"):
        from kiwoom_client import KiwoomAPI

        kwargs = {} if which == "kiwoom_client" else {"rate_limit": float(which.split("=")[1])}
        api = KiwoomAPI(appkey, secretkey, base_url=url, **kwargs)  # its defaults: 1 per second, burst 2
        api.login()
        call = lambda: api.stock_info.basic_stock_info(stk_cd="005930")  # noqa: E731
    else:
        raise SystemExit(f"unknown client {which!r}")
    errors = 0
    started = time.perf_counter()
    for _ in range(calls):
        try:
            call()
        except Exception:  # noqa: BLE001 - counted, not fatal: the comparison is what each client gets done
            errors += 1
    elapsed = time.perf_counter() - started
    emit({"elapsed_s": elapsed, "errors": errors})


def mode_candles(codes: str, start: str, end: str) -> None:
    """``api.candles`` of several stocks' daily candles from ``start`` to ``end`` (default pace), timed."""
    import kiwoom_nb

    url, appkey, secretkey = env_keys()
    import pandas  # noqa: F401 - imported before the clock starts: the rate is the fetching, not pandas' import
    from kiwoom_nb.rest import _api

    api = kiwoom_nb.Client(appkey, secretkey, base_url=url, progress="")
    api.tokens.current()
    _api._check("ka10081", None, {"stk_cd": "005930", "base_dt": "20261130", "upd_stkpc_tp": "1"})  # fields.json read
    started = time.perf_counter()
    frame = api.candles(codes.split(","), "D", start, end, store=False)  # the paging, not the store (goal 11)
    elapsed = time.perf_counter() - started
    api.close()
    emit({"elapsed_s": elapsed, "rows": len(frame), "failed": len(frame.attrs["failed"])})


def mode_frame(rows: str) -> None:
    """frame(numeric=True) of ``rows`` candle rows (pages of 100), against the plain DataFrame of the strings."""
    import tracemalloc

    import pandas as pd

    from kiwoom_nb.rest._api import Answer
    from kiwoom_nb.testing._trs import candles
    from kiwoom_nb.rest._frame import to_frame

    every = candles("005930", "20261201", int(rows))
    answers = [Answer({"stk_cd": "005930", "stk_dt_pole_chart_qry": every[i:i + 100], "return_code": 0},
                      api_id="ka10081", cont=True, next_key="x") for i in range(0, len(every), 100)]
    key = "stk_dt_pole_chart_qry"
    to_frame(answers[:2], key)  # warm up imports
    times = {"numeric": [], "strings": [], "plain": []}
    for _ in range(7):
        for name, build in (("numeric", lambda: to_frame(answers, key)),
                            ("strings", lambda: to_frame(answers, key, numeric=False)),
                            ("plain", lambda: pd.DataFrame([r for a in answers for r in a[key]]))):
            started = time.perf_counter()
            frame = build()
            times[name].append(time.perf_counter() - started)
    tracemalloc.start()
    numeric = to_frame(answers, key)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    strings = to_frame(answers, key, numeric=False)
    emit({"times": times, "rows": len(numeric), "peak_bytes": peak,
          "numeric_bytes": int(numeric.memory_usage(deep=True).sum()),
          "strings_bytes": int(strings.memory_usage(deep=True).sum()), "_": len(frame)})


def mode_catalogue(what: str) -> None:
    """The first use of the field catalogue in a fresh interpreter: ``describe`` (kiwoom_nb.describe("ka10081"))
    or ``check`` (the check of one request's fields, as call() runs it); then the same once more, warm."""
    import kiwoom_nb
    from kiwoom_nb.rest import _api, _catalogue

    if _catalogue._catalogue is not None:
        raise SystemExit("the catalogue was read at import")
    first = (lambda: kiwoom_nb.describe("ka10081")) if what == "describe" else \
        (lambda: _api._check("ka10081", None, {"stk_cd": "005930", "base_dt": "20261201", "upd_stkpc_tp": "1"}))
    again = (lambda: kiwoom_nb.describe("ka10001")) if what == "describe" else \
        (lambda: _api._check("ka10001", None, {"stk_cd": "005930"}))
    started = time.perf_counter()
    first()
    first_s = time.perf_counter() - started
    started = time.perf_counter()
    again()
    emit({"first_s": first_s, "another_tr_s": time.perf_counter() - started, "rss_kib": rss_kib()})


def mode_check(pairs: str) -> None:
    """Client.call (unpaced) with the catalogue check against check=False, call by call, in one process."""
    import kiwoom_nb

    url, appkey, secretkey = env_keys()
    api = kiwoom_nb.Client(appkey, secretkey, base_url=url, pace=None)
    times = alternated(pairs, lambda: api.call("ka10001", stk_cd="005930"),
                       lambda: api.call("ka10001", stk_cd="005930", check=False))
    api.close()
    emit({"checked": times["kiwoom_nb"], "unchecked": times["httpx"]})


if __name__ == "__main__":
    mode, *arguments = sys.argv[1:]
    globals()["mode_" + mode](*arguments)
