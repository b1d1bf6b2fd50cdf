"""Goal 5: memory — what the extension and a login add to a process.

See BENCHMARKS.md. Run by bench/bench.py (``python bench/bench.py --only 5``); imports only bench/common.py of bench/."""

from __future__ import annotations


from common import Context, fmt_mib, fmt_ms, interleaved, median


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
