"""Goal 3: logging in — a warm login's round trip, and a cold import-and-login.

See BENCHMARKS.md. Run by bench/bench.py (``python bench/bench.py --only 3``); imports only bench/common.py of bench/."""

from __future__ import annotations


from common import Context, fmt_mib, fmt_ms, fmt_us, interleaved, median, run_child


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
