"""Real processes sharing one app key against the fake Kiwoom's rate limit (issue 33), for the pacing tests.

Each child logs in, says ``ready``, waits for a line on stdin (all start together), makes its calls and prints
``done <first asked> <last answered>`` (time.monotonic, the clock the fake stamps arrivals with on Linux) and every
warning kiwoom_nb logged.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

CHILD = textwrap.dedent("""
    import logging, sys, time
    import kiwoom_nb

    logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="log: %(message)s")
    url, app, secret, calls, api_ids = sys.argv[1:6]
    api = kiwoom_nb.Client(app, secret, base_url=url)
    api.tokens.current()
    print("ready", flush=True)
    sys.stdin.readline()
    first = time.monotonic()
    ids = api_ids.split(",")
    for i in range(int(calls)):
        api_id = ids[i % len(ids)]
        if api_id == "ka10001":
            api.call("ka10001", stk_cd="005930")
        else:
            api.call("ka10099", mrkt_tp="0")
    print("done", first, time.monotonic(), flush=True)
    api.close()
""")


class Child:
    def __init__(self, url: str, keys: tuple[str, str], calls: int, api_ids: str = "ka10001",
                 env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen([sys.executable, "-c", CHILD, url, *keys, str(calls), api_ids],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(env or {})})
        self.lines: list[str] = []

    def wait_for(self, word: str, timeout: float = 60) -> str:
        while True:
            line = self.proc.stdout.readline()
            if not line:
                raise AssertionError(f"child ended before {word!r}: {self.lines} {self.proc.stderr.read()}")
            self.lines.append(line.rstrip("\n"))
            if line.startswith(word):
                return line

    def go(self) -> None:
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def finish(self, timeout: float = 180) -> tuple[float, float]:
        done = self.wait_for("done", timeout).split()
        self.lines += self.proc.stdout.read().splitlines()
        assert self.proc.wait(timeout) == 0, self.proc.stderr.read()
        return float(done[1]), float(done[2])

    def logs(self) -> list[str]:
        return [line for line in self.lines if line.startswith("log: ")]

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait(30)


def run_together(fake, keys, processes: int, calls: int, api_ids: str = "ka10001",
                 envs: list[dict[str, str]] | None = None) -> tuple[list[Child], float]:
    """``processes`` children making ``calls`` each, started together; (the children, the combined rate/s)."""
    children = [Child(fake.url, keys, calls, api_ids, (envs or [{}] * processes)[i]) for i in range(processes)]
    try:
        for child in children:
            child.wait_for("ready")
        for child in children:
            child.go()
        spans = [child.finish() for child in children]
    finally:
        for child in children:
            child.kill()
    elapsed = max(end for _, end in spans) - min(start for start, _ in spans)
    return children, processes * calls / elapsed
