"""Goal 7: the field catalogue (issue 20) — fields.json read on first use, never by %load_ext.

See BENCHMARKS.md. Run by bench/bench.py (``python bench/bench.py --only 7``); imports only bench/common.py of bench/."""

from __future__ import annotations


from common import Context, fmt_ms, fmt_us, median, run_child


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
