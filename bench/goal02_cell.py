"""Goal 2: every cell — what the extension's pre-run-cell hook costs each cell.

See BENCHMARKS.md. Run by bench/bench.py (``python bench/bench.py --only 2``); imports only bench/common.py of bench/."""

from __future__ import annotations


from common import Context, fmt_us, median, run_child


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
