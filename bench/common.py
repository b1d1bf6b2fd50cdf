"""What every benchmark goal shares: the counts (full and quick), medians and formatting, the results table, the
machine and its load, and running bench/child.py. Imports none of the goal modules (bench/goalNN_*.py)."""

from __future__ import annotations

import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from kiwoom_nb.testing import FakeKiwoom

CHILD = Path(__file__).resolve().parent / "child.py"

FULL = dict(processes=21, importtime_runs=5, blocks=40, cells=500, calls=200_000, pairs=1000, kernels=9,
            paced_calls=100, frame_rows=10_000, candle_stocks=10, stream_events=100_000, stream_rows=100_000,
            board_seconds=5, board_rounds=3, shared_calls=40, shared_overhead=2000)
QUICK = dict(processes=2, importtime_runs=1, blocks=2, cells=50, calls=10_000, pairs=20, kernels=1,
             paced_calls=8, frame_rows=1_000, candle_stocks=3, stream_events=2_000, stream_rows=2_000,
             board_seconds=1, board_rounds=1, shared_calls=4, shared_overhead=100)

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
    goal_no: str  # which goal: 1-5 of issue 6, 6 of issue 11, 7 of issue 20, 8 of issue 21, 9 of issue 22, 10 of issue 23, 11 of issue 32
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
               KIWOOM_STORE=str(workdir / "store"),  # never the user's own candle store
               JUPYTER_PLATFORM_DIRS="1", PYTHONUNBUFFERED="1",
               KIWOOM_STREAM_HUB="0")  # streams in process unless a row asks for the hub (its own KIWOOM_STREAM_HUB=1)
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
