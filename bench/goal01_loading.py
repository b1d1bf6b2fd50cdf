"""Goal 1: loading — %load_ext and import kiwoom_nb in fresh interpreters, and what they import.

See BENCHMARKS.md. Run by bench/bench.py (``python bench/bench.py --only 1``); imports only bench/common.py of bench/."""

from __future__ import annotations

import re

from common import Context, fmt_ms, interleaved, median, run_child


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
