"""Goal 4: leaving — real kernels shut down, the revoker, and timeouts against a Kiwoom that never answers.

See BENCHMARKS.md. Run by bench/bench.py (``python bench/bench.py --only 4``); imports only bench/common.py of bench/."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

from kiwoom_nb.testing import FakeKiwoom, wait_until

from common import CHILD, Context, fmt_mib, fmt_ms, median


# -- 4. leaving (real kernels) ----------------------------------------------------------------------

LOAD_CELL = (  # the empty extension first, so the second time is what kiwoom_nb itself adds
    f"import sys, time as _t\nsys.path.insert(0, {str(CHILD.parent)!r})\n"
    "_t0 = _t.perf_counter(); get_ipython().run_line_magic('load_ext', 'empty_ext')\n"
    "_t1 = _t.perf_counter(); get_ipython().run_line_magic('load_ext', 'kiwoom_nb')\n"
    "print('LOAD', _t1 - _t0, _t.perf_counter() - _t1)")
LOGIN_CELL = "%kiwoom_login\nassert type(kiwoom_token).__name__ == 'AccessToken'"
STREAM_CELL = "import kiwoom_nb\nlive = kiwoom_nb.stream()\nlive.watch(['005930'], '0B')"
HUB_CELL = ("import os, tempfile\nos.environ.update(KIWOOM_STREAM_HUB='1', KIWOOM_HUB_GRACE='3', "
            "XDG_RUNTIME_DIR=tempfile.mkdtemp(prefix='kb', dir='/tmp'))")
KERNEL_VARIANTS = {  # name: (cells to run before the shutdown, revoke server hangs)
    "bare": (["pass"], False),
    "no_token": ([LOAD_CELL], False),
    "logged_out": ([LOAD_CELL, LOGIN_CELL, "%kiwoom_logout"], False),
    "token": ([LOAD_CELL, LOGIN_CELL], False),
    "hang": ([LOAD_CELL, LOGIN_CELL], True),
    "stream": ([LOAD_CELL, LOGIN_CELL, STREAM_CELL], False),  # issue 22: a stream open at the shutdown
    "hub_stream": ([LOAD_CELL, LOGIN_CELL, HUB_CELL, STREAM_CELL], False),  # issue 34: the same through the hub
}


def kernel_cell(kc, code: str) -> str:
    """Run one cell in the kernel; returns its stdout, raises on an error."""
    output: list[str] = []

    def on_output(msg: dict) -> None:
        if msg["msg_type"] == "stream":
            output.append(msg["content"]["text"])
        elif msg["msg_type"] == "error":
            output.append("\n".join(msg["content"]["traceback"]))

    reply = kc.execute_interactive(code, allow_stdin=False, timeout=60, output_hook=on_output)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"kernel cell failed: {code!r}\n{''.join(output)}")
    return "".join(output)


def atexit_mark(path: Path, name: str) -> str:
    """A cell registering an atexit handler that appends ``name <perf_counter>`` to ``path``."""
    return (f"import atexit as _a, time as _t\n"
            f"_a.register(lambda: open({str(path)!r}, 'a').write('{name} %r\\n' % _t.perf_counter()))")


def one_shutdown(ctx: Context, variant: str) -> dict:
    """Start a kernel, run the variant's cells, then time shutdown_request -> process exit.

    Two atexit marks bracket the handlers registered by the variant's cells (atexit runs last
    registered first), so the time kiwoom_nb's exit hook takes is also measured inside the kernel.
    """
    from jupyter_client import KernelManager

    marks = ctx.workdir / f"atexit-{time.monotonic_ns()}.txt"
    cells, hang = KERNEL_VARIANTS[variant]
    cells = [atexit_mark(marks, "end"), *cells, atexit_mark(marks, "start")]
    log = open(ctx.workdir / "kernels.log", "ab")
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=ctx.env, stdout=log, stderr=log)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        issued_before = len(ctx.fake.tokens)
        stdout = "".join(kernel_cell(kc, cell) for cell in cells)
        # the kernel's own token: the first issued by its cells (a hub's comes after it, with the stream)
        own = ctx.fake.tokens[issued_before].value if len(ctx.fake.tokens) > issued_before else None
        load = re.search(r"LOAD (\S+) (\S+)", stdout)
        revokes_before = len(ctx.fake.revokes)
        ctx.fake.hang_revoke = hang
        process = km.provisioner.process
        started = time.perf_counter()
        kc.shutdown()
        deadline = started + 10.0
        while process.poll() is None and time.perf_counter() < deadline:
            time.sleep(0.001)  # polling the exit, with a deadline
        elapsed = time.perf_counter() - started
        code = process.poll()
        stamps = dict(line.split() for line in marks.read_text().splitlines()) if marks.exists() else {}
        hook = float(stamps["end"]) - float(stamps["start"]) if len(stamps) == 2 else None
        revokes = len(ctx.fake.revokes) - revokes_before
        # at the exit, counted by token: a late revoke of an earlier kernel's token (the hang variant's, retried by
        # its revoker once the server answers again) may land in this window too
        own_revoked = own is not None and any(isinstance(r.body, dict) and r.body.get("token") == own
                                              for r in ctx.fake.revokes[revokes_before:])
        if variant == "hub_stream":  # the hub's own token is revoked after its grace: not in the next kernel's count
            wait_until(lambda: len(ctx.fake.revokes) - revokes_before >= 2, 20, "the hub's revoke")
        return {"hook_s": hook, "shutdown_s": elapsed, "exit_code": code, "exited": code is not None,
                "revokes": revokes, "own_revoked": own_revoked,
                "load_empty_s": float(load.group(1)) if load else None,
                "load_s": float(load.group(2)) if load else None}
    finally:
        ctx.fake.hang_revoke = False
        kc.stop_channels()
        if km.provisioner is not None and km.provisioner.process is not None and km.provisioner.process.poll() is None:
            km.shutdown_kernel(now=True)
        else:
            km.cleanup_resources()
        log.close()


def measure_shutdown(ctx: Context, round_trip: float) -> None:
    names = list(KERNEL_VARIANTS)
    runs: dict[str, list[dict]] = {name: [] for name in names}
    one_shutdown(ctx, "token")  # warm-up
    for index in range(ctx.n["kernels"]):
        for name in names[index % len(names):] + names[:index % len(names)]:
            runs[name].append(one_shutdown(ctx, name))
    t = {name: median(r["shutdown_s"] for r in runs[name]) for name in names}
    n = len(runs["token"])
    res = ctx.results
    allowed = round_trip + 0.020
    added = t["token"] - t["no_token"]
    revoked = all(r["own_revoked"] for r in runs["token"])
    res.add("4", f"kernel shutdown (`shutdown_request` → process exit) with one live token, against the extension "
                 f"loaded without a token (median of {n} kernels)",
            fmt_ms(t["token"]), fmt_ms(t["no_token"]),
            f"{added * 1e3:+.1f} ms (round trip {fmt_ms(round_trip)}; token revoked: {'yes' if revoked else 'NO'})",
            f"≤ round trip + 20 ms = {fmt_ms(allowed)}", added <= allowed and revoked)
    hooks = {name: [r["hook_s"] for r in runs[name] if r["hook_s"] is not None] for name in ("token", "no_token")}
    if hooks["token"] and hooks["no_token"]:
        res.add("4", "of which in kiwoom_nb's exit hook (the revoke), timed inside the kernel between two atexit marks",
                fmt_ms(median(hooks["token"])), f"{fmt_ms(median(hooks['no_token']))} (no token)",
                f"{(median(hooks['token']) - median(hooks['no_token'])) * 1e3:+.1f} ms")
    res.add("4", "one live token, against logged in and out again before the shutdown "
                 "(httpx loaded in both)", fmt_ms(t["token"]), fmt_ms(t["logged_out"]),
            f"{(t['token'] - t['logged_out']) * 1e3:+.1f} ms")
    res.add("4", "kernel shutdown without kiwoom_nb at all (reference)", fmt_ms(t["bare"]))
    streamed = all(r["own_revoked"] for r in runs["stream"])
    res.add("9", f"kernel shutdown with a stream open (socket closed, then the token revoked), against one live token "
                 f"and no stream (median of {len(runs['stream'])} kernels)", fmt_ms(t["stream"]), fmt_ms(t["token"]),
            f"{(t['stream'] - t['token']) * 1e3:+.1f} ms (token revoked: {'yes' if streamed else 'NO'})",
            f"≤ round trip + 20 ms = {fmt_ms(allowed)}", t["stream"] - t["token"] <= allowed and streamed)
    hubbed = all(r["own_revoked"] for r in runs["hub_stream"])
    res.add("14", f"kernel shutdown with a hub-backed stream open (the kernel's link to the hub closed, its token "
                  f"revoked; the hub stays for its grace of 3 s), against one live token and no stream (median of "
                  f"{len(runs['hub_stream'])} kernels)", fmt_ms(t["hub_stream"]), fmt_ms(t["token"]),
            f"{(t['hub_stream'] - t['token']) * 1e3:+.1f} ms (token revoked: {'yes' if hubbed else 'NO'})",
            f"≤ round trip + 20 ms = {fmt_ms(allowed)}", t["hub_stream"] - t["token"] <= allowed and hubbed)
    hang = runs["hang"]
    worst = max(r["shutdown_s"] for r in hang)
    codes = sorted({r["exit_code"] for r in hang}, key=str)
    ok = all(r["exited"] and r["exit_code"] == 0 and r["shutdown_s"] < 2.5 for r in hang)
    res.add("4", f"kernel shutdown with one live token and a revoke server that never answers ({len(hang)} kernels)",
            f"{fmt_ms(t['hang'])} (worst {fmt_ms(worst)}), exit code {', '.join(map(str, codes))}",
            compare=f"exited by itself: {'all' if all(r['exited'] for r in hang) else 'NOT ALL'}",
            goal="< 2.5 s, exit code 0", met=ok)
    loaded = [r for name in ("no_token", "token", "hang") for r in runs[name] if r["load_s"] is not None]
    load, empty = median(r["load_s"] for r in loaded), median(r["load_empty_s"] for r in loaded)
    res.add("1", f"`%load_ext kiwoom_nb` in a cell of a running ipykernel, right after `%load_ext` of the empty "
                 f"extension (median of {len(loaded)} kernels)",
            fmt_ms(load), f"{fmt_ms(empty)} (the empty extension, loaded first)", f"{load * 1e3:+.2f} ms added",
            "≤ 5 ms added", load <= 0.005)
    res.raw["shutdown"] = runs


def waiting_on_stdin(pid: int) -> bool:
    """Whether the process is blocked reading its stdin (read is syscall 0 on x86-64, 63 on arm64)."""
    try:
        with open(f"/proc/{pid}/syscall") as syscall:
            return syscall.read().startswith(("0 0x0 ", "63 0x0 "))
    except OSError:
        return False


def revoke_after_eof(ctx: Context) -> dict:
    """``python -m kiwoom_nb.auth._revoker`` holding one token: time from end-of-file to the revoke at the fake,
    and the process's peak memory (it imports httpx then)."""
    from kiwoom_nb import issue_token

    appkey, secretkey = ctx.fake.keys["production"]
    token = str(issue_token(appkey, secretkey, base_url=ctx.fake.url))
    env = {k: v for k, v in ctx.env.items() if not k.startswith("KIWOOM_")}
    process = subprocess.Popen([sys.executable, "-m", "kiwoom_nb.auth._revoker"], stdin=subprocess.PIPE, env=env,
                               cwd=ctx.workdir)
    hold = {"op": "hold", "token": token, "appkey": appkey, "secretkey": secretkey, "mock": False,
            "base_url": ctx.fake.url, "timeout": 10.0, "holders": str(ctx.workdir / "holders"), "pid": os.getpid()}
    process.stdin.write((json.dumps(hold) + "\n").encode())
    process.stdin.flush()
    deadline = time.perf_counter() + 30
    while not waiting_on_stdin(process.pid) and time.perf_counter() < deadline:
        time.sleep(0.0005)  # until it has read the hold and waits again (its start is measured elsewhere)
    started = time.perf_counter()
    process.stdin.close()
    while ctx.fake.is_live(token) and time.perf_counter() - started < 30:
        time.sleep(0.0005)  # polling the fake, with a deadline
    revoked = time.perf_counter() - started
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0 or ctx.fake.is_live(token):
        raise RuntimeError(f"the revoker did not revoke (exit {process.returncode})")
    return {"eof_to_revoke_s": revoked, "peak_rss_kib": usage.ru_maxrss}


def kill_to_revoke(ctx: Context) -> float:
    """A real kernel logged in, then SIGKILLed: seconds until its token is revoked at the fake."""
    import signal

    from jupyter_client import KernelManager

    log = open(ctx.workdir / "kernels.log", "ab")
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=ctx.env, stdout=log, stderr=log)
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=60)
        before = set(ctx.fake.live_tokens())
        kernel_cell(kc, "%load_ext kiwoom_nb")
        kernel_cell(kc, LOGIN_CELL)
        [token] = set(ctx.fake.live_tokens()) - before
        process = km.provisioner.process
        started = time.perf_counter()
        os.kill(process.pid, signal.SIGKILL)
        while ctx.fake.is_live(token) and time.perf_counter() - started < 30:
            time.sleep(0.001)  # polling the fake, with a deadline
        elapsed = time.perf_counter() - started
        process.wait()
        if ctx.fake.is_live(token):
            raise RuntimeError("a SIGKILLed kernel's token was not revoked within 30 s")
        return elapsed
    finally:
        kc.stop_channels()
        km.cleanup_resources()
        log.close()


def measure_revoker(ctx: Context) -> None:
    runs = [revoke_after_eof(ctx) for _ in range(ctx.n["kernels"])]
    kills = [kill_to_revoke(ctx) for _ in range(ctx.n["kernels"])]
    res = ctx.results
    res.add("4", f"SIGKILL of a logged-in kernel → its token revoked by the revoker (median of {len(kills)} kernels)",
            fmt_ms(median(kills)), compare=f"worst {fmt_ms(max(kills))}", goal="< 5 s", met=max(kills) < 5)
    res.add("4", "of which the revoker alone: its pipe closed → the revoke at the fake (imports httpx, one request)",
            fmt_ms(median(r["eof_to_revoke_s"] for r in runs)))
    res.add("5", "peak resident memory of the revoker while it revokes (it imports httpx then)",
            fmt_mib(median(r["peak_rss_kib"] for r in runs)))
    res.raw["revoker"] = {"after_eof": runs, "kill_to_revoke_s": kills}


# -- 4. a Kiwoom that never answers: how soon each timeout and budget lets go ----------------------


def timed(call, *args, **kwargs) -> tuple[float, object]:
    """Seconds ``call`` took, and what it returned or raised."""
    started = time.perf_counter()
    try:
        outcome = call(*args, **kwargs)
    except Exception as exc:  # noqa: BLE001 - the exception is the outcome
        outcome = exc
    return time.perf_counter() - started, outcome


def measure_hangs(ctx: Context) -> None:
    """The tests only hold these to generous deadlines (they must not fail on a loaded machine); here, how
    close each timeout or budget comes to its nominal value, against a fake that never answers."""
    from kiwoom_nb import issue_token, revoke_token
    from kiwoom_nb.auth import _revoker
    from kiwoom_nb.auth._holders import Holders
    from kiwoom_nb.auth._session import Session

    appkey, secretkey = ctx.fake.keys["production"]
    runs: dict[str, list[float]] = {"issue": [], "revoke": [], "revoke_all": [], "revoker": []}
    for index in range(ctx.n["kernels"]):
        with FakeKiwoom(hang_token=True) as hanging:
            runs["issue"].append(timed(issue_token, appkey, secretkey, base_url=hanging.url, timeout=1.0)[0])
        with FakeKiwoom(hang_revoke=True) as hanging:
            token = issue_token(appkey, secretkey, base_url=hanging.url)
            runs["revoke"].append(timed(revoke_token, appkey, secretkey, token, base_url=hanging.url, timeout=1.0)[0])
            session = Session(timeout=60.0, holders=Holders(ctx.workdir / f"holders-session-{index}"))
            session.login(appkey, secretkey, var="t", base_url=hanging.url)
            runs["revoke_all"].append(timed(session.revoke_all, 0.5)[0])
            token = str(issue_token(appkey, secretkey, base_url=hanging.url))
            hold = {"op": "hold", "token": token, "appkey": appkey, "secretkey": secretkey, "mock": False,
                    "base_url": hanging.url, "timeout": 0.3, "holders": str(ctx.workdir / f"holders-revoker-{index}"),
                    "pid": 999_999_999}
            runs["revoker"].append(timed(_revoker.revoke_held, {token: hold}, budget=2.0)[0])
    worst = {name: max(values) for name, values in runs.items()}
    n, res = ctx.n["kernels"], ctx.results
    res.add("4", f"`issue_token(timeout=1)` against a server that never answers → `KiwoomTimeout` (median of {n})",
            fmt_ms(median(runs["issue"])), compare=f"worst {fmt_ms(worst['issue'])}", goal="< 2 s",
            met=worst["issue"] < 2.0)
    res.add("4", "`revoke_token(timeout=1)`, the same", fmt_ms(median(runs["revoke"])),
            compare=f"worst {fmt_ms(worst['revoke'])}", goal="< 2 s", met=worst["revoke"] < 2.0)
    res.add("4", "`Session.revoke_all(0.5)` (the exit revoke's budget) against a session timeout of 60 s",
            fmt_ms(median(runs["revoke_all"])), compare=f"worst {fmt_ms(worst['revoke_all'])}", goal="< 1 s",
            met=worst["revoke_all"] < 1.0)
    res.add("4", "the revoker's retries (`revoke_held`, budget 2 s, 0.3 s per try) until it gives up",
            fmt_ms(median(runs["revoker"])), compare=f"worst {fmt_ms(worst['revoker'])}", goal="< 4 s",
            met=worst["revoker"] < 4.0)
    res.raw["hangs"] = runs
