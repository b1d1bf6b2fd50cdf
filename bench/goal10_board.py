"""Goal 10 (issue 23): a live board in a real kernel while the fake sends 2,000 ticks a second, against the same
stream without a board: the kernel's CPU, and how long a cell ``1+1`` takes to answer meanwhile. Imported by
bench.py (``measure_board``).
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from typing import Any

ITEMS = ["005930", "000660", "035420", "035720"]
VARIANTS = {
    "stream": f"import kiwoom_nb\nlive = kiwoom_nb.stream()\nlive.watch({ITEMS!r}, '0B')",
    "board": f"%kiwoom_watch {' '.join(ITEMS)}",
}


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def one_kernel(ctx: Any, variant: str, seconds: float) -> dict:
    from jupyter_client import KernelManager

    log = open(ctx.workdir / "kernels.log", "ab")
    km = KernelManager(kernel_name="python3")
    km.start_kernel(env=ctx.env, stdout=log, stderr=log)
    kc = km.client()
    kc.start_channels()
    fake = ctx.fake
    try:
        kc.wait_for_ready(timeout=60)
        for cell in ("%load_ext kiwoom_nb", "%kiwoom_login", VARIANTS[variant]):
            reply = kc.execute_interactive(cell, timeout=60, output_hook=lambda msg: None)
            assert reply["content"]["status"] == "ok", (variant, cell)
        rate, fake.ws.rate = fake.ws.rate, 0.001  # only the burst
        pid = km.provisioner.process.pid
        sender = threading.Thread(target=fake.ws.burst, args=(int(2000 * seconds), ITEMS),
                                  kwargs={"per_second": 2000})
        cpu, started = _cpu_seconds(pid), time.perf_counter()
        sender.start()
        answers = []
        while sender.is_alive():
            sent = time.perf_counter()
            kc.execute_interactive("1+1", timeout=60, output_hook=lambda msg: None)
            answers.append(time.perf_counter() - sent)
        sender.join()
        wall, cpu = time.perf_counter() - started, _cpu_seconds(pid) - cpu
        fake.ws.rate = rate
        return {"cpu_fraction": cpu / wall, "answers_s": answers}
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
        log.close()


def measure_board(ctx: Any) -> None:
    seconds = ctx.n.get("board_seconds", 5)
    runs = {v: [one_kernel(ctx, v, seconds) for _ in range(ctx.n.get("board_rounds", 2))] for v in VARIANTS}
    cpu = {v: statistics.median(r["cpu_fraction"] for r in runs[v]) for v in runs}
    answers = {v: sorted(a for r in runs[v] for a in r["answers_s"]) for v in runs}
    median = {v: statistics.median(answers[v]) * 1e3 for v in answers}
    worst = {v: answers[v][-1] * 1e3 for v in answers}
    res = ctx.results
    res.add("10", f"kernel CPU while 2,000 ticks/s arrive for {seconds:g} s: a live board (4 updates/s) against the "
                  "stream alone", f"{cpu['board'] * 100:.0f} % of a core", f"{cpu['stream'] * 100:.0f} % of a core",
            f"{(cpu['board'] - cpu['stream']) * 100:+.0f} points")
    res.add("10", "a cell 1+1 answering meanwhile (execute → reply), median / slowest",
            f"{median['board']:.1f} / {worst['board']:.1f} ms", f"{median['stream']:.1f} / {worst['stream']:.1f} ms",
            "—", "< 100 ms", worst["board"] < 100)
    res.raw["board"] = {v: [{"cpu_fraction": r["cpu_fraction"], "answers_ms": [a * 1e3 for a in r["answers_s"]]}
                            for r in runs[v]] for v in runs}
