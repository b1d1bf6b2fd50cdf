"""kiwoom_nb benchmarks: loading, every cell, logging in, leaving, memory. See BENCHMARKS.md.

    make bench                        # every measurement, a few minutes; prints a Markdown table
    make bench-quick                  # BENCH_QUICK=1: tiny counts, only proves the script still works
    python bench/bench.py --wait-quiet 1200 --json results.json
    make bench BENCH_ARGS="--only 1,2"  # only goals 1 (loading) and 2 (every cell)

Everything runs in one go on this machine against the fake Kiwoom (kiwoom_nb.testing.FakeKiwoom) on
127.0.0.1. Each measurement that needs a clean interpreter runs bench/child.py in a fresh process.
Nothing here asserts a timing: a goal missed is reported in the table, not raised.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from kiwoom_nb.testing import FakeKiwoom
from stream import measure_stream  # bench/stream.py (issue 22)
from board import measure_board  # bench/board.py (issue 23)

CHILD = Path(__file__).resolve().parent / "child.py"

FULL = dict(processes=21, importtime_runs=5, blocks=40, cells=500, calls=200_000, pairs=1000, kernels=9,
            paced_calls=100, frame_rows=10_000, candle_stocks=10, stream_events=100_000, stream_rows=100_000,
            board_seconds=5, board_rounds=3)
QUICK = dict(processes=2, importtime_runs=1, blocks=2, cells=50, calls=10_000, pairs=20, kernels=1,
             paced_calls=8, frame_rows=1_000, candle_stocks=3, stream_events=2_000, stream_rows=2_000,
             board_seconds=1, board_rounds=1)

#: The fake's limit for the pacing measurement: requests per second per TR.
PACED_LIMIT = 3


# -- shared helpers: medians, formatting, the table ---------------------------------------------------


def median(values) -> float:
    return statistics.median(values)


def fmt_ms(seconds: float) -> str:
    return f"{seconds * 1e3:.1f} ms" if seconds >= 0.01 else f"{seconds * 1e3:.2f} ms"


def fmt_us(seconds: float) -> str:
    return f"{seconds * 1e6:.1f} µs"


def fmt_mib(kib: float) -> str:
    return f"{kib / 1024:.1f} MiB"


@dataclass
class Row:
    goal_no: str  # which goal: 1-5 of issue 6, 6 of issue 11, 7 of issue 20, 8 of issue 21, 9 of issue 22, 10 of issue 23
    what: str
    value: str
    baseline: str = "—"
    compare: str = "—"
    goal: str = "—"
    met: bool | None = None


@dataclass
class Results:
    rows: list[Row] = field(default_factory=list)
    details: list[str] = field(default_factory=list)  # Markdown sections printed after the table
    raw: dict = field(default_factory=dict)  # everything measured, for --json

    def add(self, *args, **kwargs) -> None:
        self.rows.append(Row(*args, **kwargs))


def markdown_table(rows: list[Row]) -> str:
    lines = ["| # | measurement | kiwoom_nb | baseline | difference / ratio | goal | met |",
             "|---|---|---|---|---|---|---|"]
    for row in sorted(rows, key=lambda r: int(re.match(r"\d+", r.goal_no).group())):  # stable within a goal
        met = "—" if row.met is None else ("yes" if row.met else "**no**")
        lines.append(f"| {row.goal_no} | {row.what} | {row.value} | {row.baseline} | {row.compare} | {row.goal} | {met} |")
    return "\n".join(lines)


# -- the machine ----------------------------------------------------------------------------------


def cpu_jiffies() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    with open("/proc/stat") as stat:
        fields = [int(x) for x in stat.readline().split()[1:]]
    hz = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)  # idle + iowait
    return (sum(fields) - idle) / hz, sum(fields) / hz


def cpu_busy(window: float) -> float:
    """Fraction of all CPU time that was busy during the next ``window`` seconds."""
    busy0, total0 = cpu_jiffies()
    time.sleep(window)  # a measuring window, not a synchronisation
    busy1, total1 = cpu_jiffies()
    return (busy1 - busy0) / max(total1 - total0, 1e-9)


class OtherLoad:
    """CPU used by processes other than this benchmark (and its children) while it runs, in cores."""

    def __init__(self) -> None:
        self.available = os.path.exists("/proc/stat")
        self.started = time.monotonic()
        self.busy0 = cpu_jiffies()[0] if self.available else 0.0
        self.ours0 = self._ours()

    @staticmethod
    def _ours() -> float:
        t = os.times()
        return t.user + t.system + t.children_user + t.children_system

    def cores(self) -> float | None:
        if not self.available:
            return None
        others = (cpu_jiffies()[0] - self.busy0) - (self._ours() - self.ours0)
        return max(others, 0.0) / (time.monotonic() - self.started)


def load_average() -> str:
    try:
        return " ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "?"


def wait_until_quiet(max_seconds: float, threshold: float, windows: int = 6) -> str:
    """Poll until the CPUs stay mostly idle (busy < threshold in ``windows`` 5-s windows in a row),
    for at most ``max_seconds``."""
    if not os.path.exists("/proc/stat") or max_seconds <= 0:
        return "not checked"
    deadline = time.monotonic() + max_seconds
    quiet = 0
    while True:
        busy = cpu_busy(5.0)
        quiet = quiet + 1 if busy < threshold else 0
        if quiet >= windows:
            return f"quiet ({windows * 5} s below {threshold:.0%} busy; load average {load_average()})"
        if time.monotonic() >= deadline:
            return f"STILL BUSY after waiting {max_seconds:.0f} s ({busy:.0%} busy, load average {load_average()})"
        print(f"  machine {'quiet' if busy < threshold else 'busy'} ({busy:.0%} CPU, load average {load_average()}); "
              f"waiting", file=sys.stderr, flush=True)


def git_revision() -> str:
    """The commit the kiwoom_nb sources come from, and whether they differ from it."""
    root = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True,
                                timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "kiwoom_nb"], cwd=root, capture_output=True,
                               text=True, timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown (no git)"
    if not commit:
        return "unknown (not a git checkout)"
    return f"git {commit}" + (" with uncommitted changes in kiwoom_nb/" if dirty else "")


def machine() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next((line.split(":", 1)[1].strip() for line in info if line.startswith("model name")), cpu)
    except OSError:
        pass
    memory = "?"
    try:
        with open("/proc/meminfo") as info:
            memory = f"{int(info.readline().split()[1]) / 1024 / 1024:.0f} GiB"
    except OSError:
        pass

    def v(name: str) -> str:
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "kiwoom_nb source": git_revision(),
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": memory,
        "os": platform.platform(),
        "python": platform.python_version(),
        "packages": ", ".join(f"{n} {v(n)}" for n in ("ipython", "ipykernel", "jupyter_client", "httpx", "traitlets",
                                                      "ipywidgets", "kiwoom-nb", "kiwoom-client")),
        # `import httpx` also imports its command-line client when click, rich and pygments are all
        # installed: ~45 ms more for every httpx user, kiwoom_nb and kiwoom-client alike
        "httpx's CLI dependencies (click, rich, pygments)": ", ".join(f"{n} {v(n)}" for n in ("click", "rich", "pygments")),
    }


# -- running bench/child.py -------------------------------------------------------------------------


@dataclass
class Context:
    fake: FakeKiwoom
    env: dict[str, str]
    workdir: Path
    n: dict[str, int]
    results: Results


def child_env(fake: FakeKiwoom, workdir: Path) -> dict[str, str]:
    """The fake's URL and keys, private IPython and cache dirs; bytecode is written (as after pip install)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIWOOM_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update(fake.environ("production"))
    env.update(IPYTHONDIR=str(workdir / "ipython"), XDG_CACHE_HOME=str(workdir / "cache"),
               JUPYTER_PLATFORM_DIRS="1", PYTHONUNBUFFERED="1")
    return env


def run_child(ctx: Context, mode: str, *args: object, flags: tuple[str, ...] = ()) -> tuple[dict, float, str]:
    """Run one child; returns (its RESULT, wall seconds from spawn to exit, its stderr)."""
    started = time.perf_counter()
    done = subprocess.run([sys.executable, *flags, str(CHILD), mode, *map(str, args)], env=ctx.env,
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"child {mode} {args} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    line = next(line for line in reversed(done.stdout.splitlines()) if line.startswith("RESULT "))
    return json.loads(line[len("RESULT "):]), wall, done.stderr


def interleaved(ctx: Context, variants: dict[str, tuple], rounds: int) -> dict[str, list[tuple[dict, float]]]:
    """Run each variant's child ``rounds`` times, rotating the order so drift hits all alike."""
    names = list(variants)
    runs: dict[str, list[tuple[dict, float]]] = {name: [] for name in names}
    for name in names:  # warm-up: write bytecode, fill the page cache
        run_child(ctx, *variants[name])
    for index in range(rounds):
        for name in names[index % len(names):] + names[:index % len(names)]:
            result, wall, _ = run_child(ctx, *variants[name])
            runs[name].append((result, wall))
    return runs


# -- 1. loading -------------------------------------------------------------------------------------


def measure_loading(ctx: Context) -> None:
    """%load_ext kiwoom_nb against %load_ext of an extension that does nothing, in fresh shells."""
    runs = interleaved(ctx, {"empty": ("shell", "empty_ext", 0), "kiwoom_nb": ("shell", "kiwoom_nb", 0)},
                       ctx.n["processes"])
    load = median(r["load_s"] for r, _ in runs["kiwoom_nb"])
    empty = median(r["load_s"] for r, _ in runs["empty"])
    shell = median(r["shell_s"] for r, _ in runs["empty"] + runs["kiwoom_nb"])
    wall_empty, wall_ext = median(w for _, w in runs["empty"]), median(w for _, w in runs["kiwoom_nb"])
    modules = set().union(*(r["load_modules"] for r, _ in runs["kiwoom_nb"]))
    heavy = {name: any(m == name or m.startswith(name + ".") for m in modules)
             for name in ("httpx", "ipywidgets", "pandas", "tqdm")}
    res = ctx.results
    res.add("1", f"`%load_ext kiwoom_nb` in a fresh InteractiveShell, against `%load_ext` of an extension that "
                 f"does nothing (median of {len(runs['kiwoom_nb'])} processes each)",
            fmt_ms(load), fmt_ms(empty), f"{(load - empty) * 1e3:+.2f} ms added", "≤ 5 ms added", load - empty <= 0.005)
    res.add("1", "for scale: importing IPython and starting that InteractiveShell", fmt_ms(shell))
    res.add("1", "whole process (Python, InteractiveShell, load_ext, exit; wall), kiwoom_nb against the empty extension",
            fmt_ms(wall_ext), fmt_ms(wall_empty), f"{(wall_ext - wall_empty) * 1e3:+.1f} ms")
    res.add("1", "httpx / ipywidgets / pandas / tqdm imported by `%load_ext kiwoom_nb`",
            ", ".join(f"{name} {'yes' if loaded else 'no'}" for name, loaded in heavy.items()),
            goal="no, no, no, no", met=not any(heavy.values()))
    catalogue = sorted(m for m in modules if m in ("kiwoom_nb.rest._catalogue", "kiwoom_nb.rest._describe"))
    res.add("7", "the field catalogue (`kiwoom_nb.rest._catalogue`, fields.json) or `_describe` imported by `%load_ext`",
            ", ".join(catalogue) or "no", goal="no", met=not catalogue)
    res.raw["loading"] = {name: [r | {"wall_s": w} for r, w in runs[name]] for name in runs}


IMPORT_LINE = re.compile(r"import time:\s+(\d+) \|\s+(\d+) \|( *)(\S+)")


def measure_imports(ctx: Context) -> None:
    """`python -X importtime`: which modules %load_ext kiwoom_nb imports, and what each costs."""
    self_us: dict[str, list[int]] = {}
    cumulative_us: dict[str, list[int]] = {}
    depth: dict[str, int] = {}
    new: set[str] = set()
    run_child(ctx, "shell", "kiwoom_nb", 0)  # warm-up
    for _ in range(ctx.n["importtime_runs"]):
        result, _, stderr = run_child(ctx, "shell", "kiwoom_nb", 0, flags=("-X", "importtime"))
        new |= set(result["load_modules"])
        for match in IMPORT_LINE.finditer(stderr):
            name = match.group(4)
            self_us.setdefault(name, []).append(int(match.group(1)))
            cumulative_us.setdefault(name, []).append(int(match.group(2)))
            depth[name] = len(match.group(3)) // 2
    rows = sorted(((name, median(self_us[name]), median(cumulative_us[name])) for name in new if name in self_us),
                  key=lambda r: -r[1])
    total_self = sum(r[1] for r in rows)
    own = [r for r in rows if r[0] == "kiwoom_nb" or r[0].startswith("kiwoom_nb.")]
    others = [r for r in rows if r not in own]
    lines = [f"Modules new after `%load_ext kiwoom_nb` (`python -X importtime`, median of {ctx.n['importtime_runs']} runs; "
             f"self time sums to {total_self / 1000:.1f} ms; the rest of load_ext is registering the magics and hooks):", "",
             "| module | self | cumulative | whose |", "|---|---|---|---|"]
    for name, self_t, cum_t in own + others[:10]:
        lines.append(f"| {'  ' * depth.get(name, 0)}{name} | {self_t / 1000:.2f} ms | {cum_t / 1000:.2f} ms | "
                     f"{'kiwoom_nb' if (name, self_t, cum_t) in own else 'dependency'} |")
    rest = others[10:]
    if rest:
        lines.append(f"| {len(rest)} more: {', '.join(r[0] for r in rest)} | {sum(r[1] for r in rest) / 1000:.2f} ms | | |")
    ctx.results.details.append("\n".join(lines))
    ctx.results.raw["imports"] = {name: {"self_us": s, "cumulative_us": c} for name, s, c in rows}


# -- 2. every cell ----------------------------------------------------------------------------------


def measure_per_cell(ctx: Context) -> None:
    run_child(ctx, "per_cell", 1, 20, 1000)  # warm-up
    result, _, _ = run_child(ctx, "per_cell", ctx.n["blocks"], ctx.n["cells"], ctx.n["calls"])
    with_ext, without = median(result["per_cell"]["with"]), median(result["per_cell"]["without"])
    added = median(a - b for a, b in zip(result["per_cell"]["with"], result["per_cell"]["without"]))  # paired blocks
    hook, empty = median(result["direct"]["hook"]), median(result["direct"]["empty"])
    res = ctx.results
    res.add("2", f"`shell.run_cell('pass')`, extension loaded with a live token, against not loaded "
                 f"(median of {ctx.n['blocks']} alternating blocks of {ctx.n['cells']} cells)",
            fmt_us(with_ext), fmt_us(without), f"{added * 1e6:+.1f} µs per cell (median of block pairs)",
            "≤ 20 µs per cell", added <= 20e-6)
    res.add("2", "the `pre_run_cell` hook alone (fast path, token not due), called directly",
            fmt_us(hook), f"{fmt_us(empty)} (an empty function)", f"{(hook - empty) * 1e6:+.2f} µs per cell",
            "≤ 20 µs per cell", hook - empty <= 20e-6)
    ctx.results.raw["per_cell"] = result


# -- 3. logging in ----------------------------------------------------------------------------------


def measure_warm_login(ctx: Context) -> float:
    """Returns the floor (one warm round trip to the fake), used as the round trip in goal 4."""
    result, _, _ = run_child(ctx, "warm_login", ctx.n["pairs"])
    ours, floor = median(result["kiwoom_nb"]), median(result["httpx"])
    ctx.results.add("3", f"warm login: `kiwoom_nb.issue_token` against a reused `httpx.Client` POST of the same body "
                         f"(median of {ctx.n['pairs']} alternating calls)",
                    fmt_us(ours), fmt_us(floor), f"×{ours / floor:.2f} ({(ours - floor) * 1e6:+.0f} µs)", "ratio ≤ 1.2",
                    ours / floor <= 1.2)
    ctx.results.raw["warm_login"] = {"kiwoom_nb_s": result["kiwoom_nb"], "httpx_s": result["httpx"]}
    return floor


def measure_cold_login(ctx: Context) -> None:
    variants = {name: ("cold_login", name) for name in ("kiwoom_nb", "kiwoom_client", "kiwoom_client.auth")}
    runs = interleaved(ctx, variants, ctx.n["processes"])
    total = {name: median(r["total_s"] for r, _ in runs[name]) for name in runs}
    imported = {name: median(r["import_s"] for r, _ in runs[name]) for name in runs}
    wall = {name: median(w for _, w in runs[name]) for name in runs}
    res, n = ctx.results, len(runs["kiwoom_nb"])
    ratio = total["kiwoom_nb"] / total["kiwoom_client"]
    res.add("3", f"cold: import + first token in a fresh process, `kiwoom_nb.issue_token` against kiwoom-client 0.4.0 "
                 f"`KiwoomAPI(...).login()` (median of {n})",
            fmt_ms(total["kiwoom_nb"]), fmt_ms(total["kiwoom_client"]), f"×{ratio:.2f}", "ratio ≤ 0.7", ratio <= 0.7)
    ratio_auth = total["kiwoom_nb"] / total["kiwoom_client.auth"]
    res.add("3", "cold, against kiwoom-client's lightest path `kiwoom_client.auth.KiwoomAuth(...).issue_token()`",
            fmt_ms(total["kiwoom_nb"]), fmt_ms(total["kiwoom_client.auth"]), f"×{ratio_auth:.2f}", "(ratio ≤ 0.7)",
            ratio_auth <= 0.7)
    res.add("3", "of which the import alone (`import kiwoom_nb` / `from kiwoom_client import KiwoomAPI`)",
            fmt_ms(imported["kiwoom_nb"]), fmt_ms(imported["kiwoom_client"]),
            f"×{imported['kiwoom_nb'] / imported['kiwoom_client']:.2f}")
    res.add("3", "cold, whole process from spawn to exit (wall), kiwoom_nb against `KiwoomAPI(...).login()`",
            fmt_ms(wall["kiwoom_nb"]), fmt_ms(wall["kiwoom_client"]), f"×{wall['kiwoom_nb'] / wall['kiwoom_client']:.2f}")
    rss = {name: median(r["rss_kib"] for r, _ in runs[name]) for name in runs}
    res.add("5", "resident memory of that fresh process after import + first token, kiwoom_nb against `KiwoomAPI`",
            fmt_mib(rss["kiwoom_nb"]), fmt_mib(rss["kiwoom_client"]), f"{(rss['kiwoom_nb'] - rss['kiwoom_client']) / 1024:+.1f} MiB")
    res.raw["cold_login"] = {name: [r | {"wall_s": w} for r, w in runs[name]] for name in runs}


# -- 4. leaving (real kernels) ----------------------------------------------------------------------

LOAD_CELL = (  # the empty extension first, so the second time is what kiwoom_nb itself adds
    f"import sys, time as _t\nsys.path.insert(0, {str(CHILD.parent)!r})\n"
    "_t0 = _t.perf_counter(); get_ipython().run_line_magic('load_ext', 'empty_ext')\n"
    "_t1 = _t.perf_counter(); get_ipython().run_line_magic('load_ext', 'kiwoom_nb')\n"
    "print('LOAD', _t1 - _t0, _t.perf_counter() - _t1)")
LOGIN_CELL = "%kiwoom_login\nassert type(kiwoom_token).__name__ == 'AccessToken'"
STREAM_CELL = "import kiwoom_nb\nlive = kiwoom_nb.stream()\nlive.watch(['005930'], '0B')"
KERNEL_VARIANTS = {  # name: (cells to run before the shutdown, revoke server hangs)
    "bare": (["pass"], False),
    "no_token": ([LOAD_CELL], False),
    "logged_out": ([LOAD_CELL, LOGIN_CELL, "%kiwoom_logout"], False),
    "token": ([LOAD_CELL, LOGIN_CELL], False),
    "hang": ([LOAD_CELL, LOGIN_CELL], True),
    "stream": ([LOAD_CELL, LOGIN_CELL, STREAM_CELL], False),  # issue 22: a stream open at the shutdown
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
        stdout = "".join(kernel_cell(kc, cell) for cell in cells)
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
        return {"hook_s": hook, "shutdown_s": elapsed, "exit_code": code, "exited": code is not None,
                "revokes": len(ctx.fake.revokes) - revokes_before, "load_empty_s": float(load.group(1)) if load else None,
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
    revoked = all(r["revokes"] == 1 for r in runs["token"])
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
    streamed = all(r["revokes"] == 1 for r in runs["stream"])
    res.add("9", f"kernel shutdown with a stream open (socket closed, then the token revoked), against one live token "
                 f"and no stream (median of {len(runs['stream'])} kernels)", fmt_ms(t["stream"]), fmt_ms(t["token"]),
            f"{(t['stream'] - t['token']) * 1e3:+.1f} ms (token revoked: {'yes' if streamed else 'NO'})",
            f"≤ round trip + 20 ms = {fmt_ms(allowed)}", t["stream"] - t["token"] <= allowed and streamed)
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


# -- 5. memory --------------------------------------------------------------------------------------


def measure_memory(ctx: Context) -> None:
    both = interleaved(ctx, {"login": ("shell", "kiwoom_nb", 1, "on"), "no_revoker": ("shell", "kiwoom_nb", 1, "off")},
                       ctx.n["processes"])
    runs = both["login"]
    shell = median(r["rss_shell_kib"] for r, _ in runs)
    load = median(r["rss_load_kib"] - r["rss_shell_kib"] for r, _ in runs)
    login = median(r["rss_login_kib"] - r["rss_load_kib"] for r, _ in runs)
    login_s = median(r["login_s"] for r, _ in runs)
    packages = sorted({m.split(".")[0] for r, _ in runs for m in r["login_modules"] if not m.startswith("_")})
    res = ctx.results
    res.add("5", f"resident memory (VmRSS) added by `%load_ext kiwoom_nb` (median of {len(runs)} processes)",
            fmt_mib(load), f"{fmt_mib(shell)} for Python + InteractiveShell", f"+{load / shell:.1%}")
    res.add("5", "resident memory added by the first `%kiwoom_login` (imports httpx, opens a connection)",
            fmt_mib(login), fmt_mib(shell), f"+{login / shell:.1%}")
    res.add("3", "first `%kiwoom_login` after `%load_ext` in a fresh shell (keys from the environment)", fmt_ms(login_s))
    res.details.append("Top-level modules the first `%kiwoom_login` imports: " + ", ".join(packages) + ".")
    res.raw["memory"] = [r for r, _ in runs]

    # the revoker (issue 10): what starting it adds to the first login, and what it occupies while it waits
    spawn = median(r["revoker_spawn_s"] for r, _ in runs)
    ready = median(r["revoker_ready_s"] for r, _ in runs)
    without = median(r["login_s"] for r, _ in both["no_revoker"])
    rss = median(r["revoker_rss_kib"] for r, _ in runs)
    res.add("3", f"revoker start inside the first `%kiwoom_login` (`subprocess.Popen`, not waited for; median of {len(runs)})",
            fmt_ms(spawn), compare=f"first login {fmt_ms(login_s)} with it, {fmt_ms(without)} with "
                                   "`KiwoomMagics.revoker = False`", goal="≤ 5 ms", met=spawn <= 0.005)
    res.add("3", "revoker's own start, from spawn until it waits on its pipe (in parallel with the kernel)", fmt_ms(ready))
    res.add("5", "resident memory (VmRSS) of the waiting revoker process", fmt_mib(rss),
            compare="imports json and kiwoom_nb's stdlib-only modules; httpx only once it must revoke")
    res.raw["revoker_login"] = {name: [r for r, _ in both[name]] for name in both}


# -- 6. calling TRs (issue 11) ------------------------------------------------------------------------


def measure_tr_call(ctx: Context) -> None:
    result, _, _ = run_child(ctx, "tr_call", ctx.n["pairs"])
    ours, floor = median(result["kiwoom_nb"]), median(result["httpx"])
    ctx.results.add("6", f"`api.call('ka10001', …)` (unpaced) against a reused `httpx.Client` POST with the same headers "
                         f"and body (median of {ctx.n['pairs']} alternating calls)",
                    fmt_us(ours), fmt_us(floor), f"×{ours / floor:.2f} ({(ours - floor) * 1e6:+.0f} µs)", "ratio ≤ 1.2",
                    ours / floor <= 1.2)
    ctx.results.raw["tr_call"] = result


def measure_paced(ctx: Context) -> None:
    """The same loop of ka10001 calls against a fake allowing PACED_LIMIT per second, one client after another."""
    calls = ctx.n["paced_calls"]
    ctx.fake.rate_limit = {"ka10001": PACED_LIMIT}
    runs = {}
    try:
        variants = {"kiwoom_nb": "kiwoom_nb", "kiwoom_client": "kiwoom_client",
                    f"kiwoom_client rate_limit={PACED_LIMIT}": f"kiwoom_client={PACED_LIMIT}"}
        for which, argument in variants.items():
            time.sleep(1.1)  # let the fake's one-second window empty between clients (a measured pause)
            refused = ctx.fake.rate_refusals
            result, _, _ = run_child(ctx, "paced", argument, calls)
            result["refusals"] = ctx.fake.rate_refusals - refused
            result["rate"] = calls / result["elapsed_s"]
            runs[which] = result
    finally:
        ctx.fake.rate_limit = None
    ours = runs["kiwoom_nb"]
    share = ours["rate"] / PACED_LIMIT
    ok = share >= 0.9 and ours["refusals"] * 100 <= calls and ours["errors"] == 0
    res = ctx.results
    res.add("6", f"{calls} `api.call` in a loop against a fake allowing {PACED_LIMIT} per second per TR (default pace 5/s, "
                 "learns `유량=3` from the first refusal): achieved rate, rate-limit answers",
            f"{ours['rate']:.2f}/s ({share:.0%} of allowed), {ours['refusals']} refused, {ours['errors']} errors",
            goal="≥ 90 % of allowed, ≤ 1 refusal per 100 calls", met=ok)
    for which in runs:
        if which == "kiwoom_nb":
            continue
        other = runs[which]
        res.add("6", f"the same {calls} calls with kiwoom-client 0.4.0 `KiwoomAPI(...)` "
                     f"{'(its defaults: 1/s, burst 2)' if which == 'kiwoom_client' else '(' + which.split(' ', 1)[1] + ')'}",
                f"{ours['rate']:.2f}/s", f"{other['rate']:.2f}/s, {other['refusals']} refused, {other['errors']} errors",
                f"×{ours['rate'] / other['rate']:.2f} the rate")
    ctx.results.raw["paced"] = runs


def measure_frame(ctx: Context) -> None:
    rows = ctx.n["frame_rows"]
    result, _, _ = run_child(ctx, "frame", rows)
    per = 10_000 / result["rows"]
    numeric, strings, plain = (median(result["times"][k]) * per for k in ("numeric", "strings", "plain"))
    res = ctx.results
    res.add("6", f"`frame(numeric=True)` per 10,000 daily-candle rows (from {rows} rows in pages of 100; median of 7), "
                 "against `pd.DataFrame` of the same rows", fmt_ms(numeric), fmt_ms(plain),
            f"{(numeric - plain) * 1e3:+.1f} ms for the numeric rules (numeric=False: {fmt_ms(strings)})")
    res.add("6", "memory of that frame (`memory_usage(deep=True)`), numeric against Kiwoom's strings; peak while building",
            fmt_mib(result["numeric_bytes"] / 1024 * per), fmt_mib(result["strings_bytes"] / 1024 * per),
            f"peak {fmt_mib(result['peak_bytes'] / 1024 * per)} (tracemalloc)")
    ctx.results.raw["frame"] = result


# -- 7. the field catalogue (issue 20) -----------------------------------------------------------------


def measure_catalogue(ctx: Context) -> None:
    """The first describe() and the first checked call, each in fresh processes; the check's cost per call."""
    res = ctx.results
    for what, label in (("describe", "`kiwoom_nb.describe('ka10081')`"),
                        ("check", "the check of a ka10081 request (what the first checked `call` adds)")):
        runs = [run_child(ctx, "catalogue", what)[0] for _ in range(ctx.n["processes"])]
        res.add("7", f"first {label} in a fresh interpreter, reading fields.json (median of {len(runs)} processes)",
                fmt_ms(median(r["first_s"] for r in runs)), fmt_ms(median(r["another_tr_s"] for r in runs)) +
                " (then another TR's)")
        res.raw[f"catalogue_{what}"] = runs
    result, _, _ = run_child(ctx, "check", ctx.n["pairs"])
    checked, unchecked = median(result["checked"]), median(result["unchecked"])
    added = checked - unchecked
    res.add("7", f"`api.call('ka10001', …)` checked against `check=False` (unpaced; median of {ctx.n['pairs']} "
                 "alternating calls in one process)", fmt_us(checked), fmt_us(unchecked),
            f"×{checked / unchecked:.3f} ({added * 1e6:+.1f} µs)", "≤ 20 µs added", added <= 20e-6)
    res.raw["check"] = result


# -- 8. candles of many stocks (issue 21) ------------------------------------------------------------------

#: The fake's limit for the candles measurement (ka10081, requests per second), and the year fetched.
CANDLE_LIMIT = 5
CANDLE_YEAR = ("2025-12-01", "2026-11-30")
CANDLE_CODES = ("005930", "000660", "035420", "051910", "006400", "005380", "035720", "068270", "105560", "055550")


def candle_pages_needed(fake: FakeKiwoom, code: str) -> int:
    """The fewest ka10081 pages that reach the year's first day, from the fake's own data and page size."""
    from kiwoom_nb.testing.market._charts import rows

    start, end = (day.replace("-", "") for day in CANDLE_YEAR)
    every = rows("ka10081", {"stk_cd": code, "base_dt": end, "upd_stkpc_tp": "1"}, fake.candles)
    first = next((i for i, row in enumerate(every) if row["dt"] <= start), None)
    return -(-len(every) // fake.page_size) if first is None else first // fake.page_size + 1


def measure_candles(ctx: Context) -> None:
    """`api.candles(codes, "D", start, end)` for a year of daily candles against a fake allowing CANDLE_LIMIT/s."""
    codes = CANDLE_CODES[:ctx.n["candle_stocks"]]
    fake = ctx.fake
    fake.rate_limit = {"ka10081": CANDLE_LIMIT}
    time.sleep(1.1)  # let the fake's one-second window empty after earlier measurements (a measured pause)
    before, refused = len(fake.received()), fake.rate_refusals
    try:
        result, _, _ = run_child(ctx, "candles", ",".join(codes), *CANDLE_YEAR)
    finally:
        fake.rate_limit = None
    sent = [r for r in fake.received()[before:] if r.api_id == "ka10081"]
    refusals = fake.rate_refusals - refused
    needed = sum(candle_pages_needed(fake, code) for code in codes)
    answered = len(sent) - refusals
    rate = len(sent) / result["elapsed_s"]
    res = ctx.results
    res.add("8", f"`api.candles({len(codes)} codes, 'D', a year)` against the fake (pages of {fake.page_size}): "
                 "pages requested (refusals aside) against the fewest that cover the year",
            f"{answered} pages", f"{needed} needed", f"{result['rows']} rows, {result['failed']} failed",
            "equal", answered == needed and result["failed"] == 0)
    res.add("8", f"the same fetch against a limit of {CANDLE_LIMIT} per second (default pace 5/s): achieved rate, "
                 "rate-limit answers",
            f"{rate:.2f}/s ({rate / CANDLE_LIMIT:.0%} of allowed), {refusals} refused",
            goal="≥ 90 % of allowed, ≤ 1 refusal per 100 requests",
            met=rate / CANDLE_LIMIT >= 0.9 and refusals * 100 <= len(sent))
    res.raw["candles"] = {**result, "requests": len(sent), "needed": needed, "refusals": refusals}


# -- main -------------------------------------------------------------------------------------------


def progress(ctx: Context, name: str) -> Context:
    print(f"measuring {name} ...", file=sys.stderr, flush=True)
    return ctx


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", default=os.environ.get("BENCH_QUICK") == "1",
                        help="tiny counts (also BENCH_QUICK=1): checks the script works; the numbers mean nothing")
    parser.add_argument("--wait-quiet", type=float, default=0, metavar="SECONDS",
                        help="first wait up to SECONDS for the CPUs to be idle (other jobs skew everything)")
    parser.add_argument("--quiet-threshold", type=float, default=0.15, help="busy CPU fraction counted as quiet")
    parser.add_argument("--json", metavar="PATH", help="also write every measurement here")
    parser.add_argument("--only", metavar="GOALS", default="",
                        help="comma-separated goal numbers to measure, e.g. --only 1,2 (default: all)")
    args = parser.parse_args(argv)
    only = {goal.strip() for goal in args.only.split(",") if goal.strip()}

    quiet = wait_until_quiet(args.wait_quiet, args.quiet_threshold) if not args.quick else "not checked (quick)"
    info = machine()
    info["load before"] = f"{load_average()}; {quiet}"
    results = Results()
    meter = OtherLoad()
    with tempfile.TemporaryDirectory(prefix="kiwoom-bench-") as tmp, FakeKiwoom() as fake:
        workdir = Path(tmp)
        ctx = Context(fake, child_env(fake, workdir), workdir, QUICK if args.quick else FULL, results)
        steps = [
            ("1", measure_loading, "1. loading"),
            ("1", measure_imports, "1. imports at load"),
            ("2", measure_per_cell, "2. every cell"),
            ("3", measure_warm_login, "3. warm login"),
            ("3", measure_cold_login, "3. cold import and login"),
            ("4", measure_shutdown, "4. leaving (real kernels)"),
            ("5", measure_memory, "5. memory"),
            ("4", measure_revoker, "4/5. the revoker (real kernels)"),
            ("4", measure_hangs, "4. timeouts and budgets against a Kiwoom that never answers"),
            ("6", measure_tr_call, "6. TR call overhead"),
            ("6", measure_paced, "6. pacing against a rate-limited fake"),
            ("6", measure_frame, "6. frames"),
            ("7", measure_catalogue, "7. the field catalogue"),
            ("8", measure_candles, "8. candles of many stocks"),
            ("9", measure_stream, "9. the real-time stream against kiwoom-client's WebSocket client"),
            ("10", measure_board, "10. a live board at 2,000 ticks/s (real kernels)"),
        ]
        round_trip = None
        for goal, measure, name in steps:
            if only and goal not in only:
                continue
            if measure is measure_shutdown:
                if round_trip is None:
                    round_trip = measure_warm_login(progress(ctx, "3. warm login (the round trip for goal 4)"))
                measure(progress(ctx, name), round_trip)
            elif measure is measure_warm_login:
                round_trip = measure(progress(ctx, name))
            else:
                measure(progress(ctx, name))
    others = meter.cores()
    info["load after"] = load_average()
    info["CPU used by other processes during the run"] = (
        "unknown" if others is None else f"{others:.2f} cores on average (of {os.cpu_count()})")

    if only:
        info["goals measured"] = ", ".join(sorted(only))
    text = ["## Machine", ""] + [f"- {key}: {value}" for key, value in info.items()]
    if args.quick:
        text += ["", "**Quick mode: counts too small for the numbers to mean anything.**"]
    text += ["", "## Results", "", markdown_table(results.rows)]
    for detail in results.details:
        text += ["", detail]
    print("\n".join(text))
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": info, "rows": [r.__dict__ for r in results.rows],
                                               "raw": results.raw}, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
