#!/usr/bin/env python3
"""Benchmark driver for `mask` (standard library only). Normally started by run.sh.

    python3 benchmarks/bench.py [--rows N] [--runs 3] [--only csv|jsonl] [--skip-python]

For each input format it generates (or reuses) the data file, runs every command once as a
warm-up (output kept to measure its size and to check that it succeeds), then runs all
commands round-robin --runs times, each in a fresh process that reads the input file on
stdin and writes to /dev/null. Wall time is taken around spawn+wait, CPU time and peak RSS
come from the rusage of that one child (os.wait4). Reported: median/min/max wall time,
MB/s of input (MB = 10^6 bytes, median), throughput relative to `pigz -p 2 -6` on the same
file in the same run, CPU seconds and peak RSS (medians).

Environment: MASK_BIN overrides the binary (default .build/release/mask, relative to the
repository root). MASK_HMAC_KEY is set to a fixed benchmark key for mask and the Python
masker.
"""

import argparse
import importlib.util
import csv
import datetime
import hashlib
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
NOOP_RULES = "benchmarks/noop.yaml"
BENCH_KEY = "mask-benchmark-key-not-a-secret-0123456789abcdef"
DEFAULT_SEED = 20240305


def log(msg):
    print(msg, file=sys.stderr, flush=True)


# --------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------

def file_sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        h.update(f.read())
    return h.hexdigest()


def ensure_data(fmt, rows, seed, data_dir, mask_bin):
    """Returns the path of the data file, generating it with the benchmarked binary's own
    generator (`mask bench --synthetic`) unless an identical one exists. The cache is keyed
    on the binary's sha256: any rebuild may change the generator, and regenerating costs
    seconds."""
    os.makedirs(data_dir, exist_ok=True)
    path = os.path.join(data_dir, f"extract-{rows}.{fmt}")
    meta_path = path + ".meta.json"
    if not os.path.isfile(mask_bin):
        sys.exit(f"bench.py: {mask_bin} not found; it generates the input (build it, or set MASK_BIN)")
    want = {"rows": rows, "format": fmt, "seed": seed, "generator": "mask bench --synthetic",
            "mask_sha256": file_sha256(mask_bin)}
    if os.path.exists(path) and os.path.exists(meta_path):
        try:
            with open(meta_path) as f:
                meta = json.load(f)
            if all(meta.get(k) == v for k, v in want.items()) and meta.get("bytes") == os.path.getsize(path):
                log(f"==> reusing {os.path.relpath(path, ROOT)} ({meta['bytes'] / 1e6:.1f} MB)")
                return path
        except (OSError, ValueError):
            pass
    log(f"==> generating {os.path.relpath(path, ROOT)} ({rows} rows)")
    tmp = path + ".tmp"
    t0 = time.perf_counter()
    subprocess.run([mask_bin, "bench", "--synthetic", str(rows), "--format", fmt,
                    "--seed", str(seed), "--emit", tmp], check=True)
    os.replace(tmp, path)
    want["bytes"] = os.path.getsize(path)
    want["generated_at"] = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    want["generate_seconds"] = round(time.perf_counter() - t0, 1)
    with open(meta_path, "w") as f:
        json.dump(want, f, indent=1)
    log(f"    {want['bytes'] / 1e6:.1f} MB in {want['generate_seconds']}s")
    return path


# --------------------------------------------------------------------------------------
# Commands
# --------------------------------------------------------------------------------------

class Cmd:
    def __init__(self, label, argv, kind, env=None, short=None, gzip_input=False):
        self.label = label        # full command line (as typed from the repo root)
        self.short = short or label
        self.argv = argv
        self.gzip_input = gzip_input  # reads the pigz -6 compressed copy of the input
        self.input_path = None        # set for gzip_input
        self.kind = kind          # "baseline" | "mask" | "python"
        self.env = env
        self.status = "ok"
        self.error = ""
        self.out_bytes = None
        self.runs = []            # dicts: wall, user, sys, rss_kb

    @property
    def shown(self):
        return self.short


def build_commands(fmt, args, mask_bin):
    env = dict(os.environ, MASK_HMAC_KEY=BENCH_KEY)
    mask_rel = os.path.relpath(mask_bin, ROOT) if mask_bin.startswith(ROOT + os.sep) else mask_bin
    rules = args.rules if fmt == "csv" else (args.rules_jsonl or args.rules)

    def mask(threads, level, extra=(), noop=False, gzip_input=False):
        chosen = NOOP_RULES if noop else rules
        flags = (["--level", str(level)] if level else []) + list(extra)
        argv = [mask_bin, "--rules", chosen, "--format", fmt, "--threads", str(threads)] + flags
        label = f"{mask_rel} --rules {chosen} --format {fmt} --threads {threads} " + " ".join(flags)
        short = f"mask {'(no-op rules) ' if noop else ''}{'(.gz input) ' if gzip_input else ''}--threads {threads} " + " ".join(flags)
        return Cmd(label.strip(), argv, "mask", env, short=short.strip(), gzip_input=gzip_input)

    py = Cmd(f"python3 benchmarks/alternatives/python_mask.py --format {fmt}",
             [sys.executable, os.path.join(HERE, "alternatives", "python_mask.py"), "--format", fmt],
             "python", env, short="python_mask.py (stdlib)")
    # The compressors mask is measured against, and mask's own levels and framings; the no-op
    # rules file (every field kept, no detector) is the floor masking is measured against; the
    # .gz input rows say what reading gzip costs next to reading the same bytes plain.
    per_chunk = ["--gzip-members", "per-chunk"]
    cmds = [
        Cmd("cat", ["cat"], "baseline"),
        Cmd("pigz -p 2 -6", ["pigz", "-p", "2", "-6"], "baseline"),
        Cmd("pigz -p 2 -1", ["pigz", "-p", "2", "-1"], "baseline"),
        Cmd("igzip -T 2 -1", ["igzip", "-T", "2", "-1", "-c"], "baseline"),
        Cmd("igzip -T 2 -3", ["igzip", "-T", "2", "-3", "-c"], "baseline"),
        Cmd("zstd -T2 -3", ["zstd", "-T2", "-3", "-c"], "baseline"),
        mask(1, 6), mask(2, 6), mask(2, 6, per_chunk), mask(2, 3), mask(2, 2), mask(2, 1),
        mask(2, None, ["--compress", "zstd"]),
        mask(2, None, ["--compress", "none"]),
        mask(2, 6, noop=True), mask(2, 6, per_chunk, noop=True), mask(2, 2, noop=True),
        mask(2, None, ["--compress", "none"], noop=True),
        mask(2, 6, gzip_input=True), mask(2, None, ["--compress", "none"], noop=True, gzip_input=True),
    ]
    if fmt == "csv":
        cmds.insert(1, Cmd("gzip -6", ["gzip", "-6"], "baseline"))
    if not args.skip_python:
        cmds.append(py)
        # DuckDB and polars, when installed (pip install duckdb polars): what a user would reach for next.
        for module, script, short in (("duckdb", "duckdb_mask.py", "DuckDB (all threads)"), ("polars", "polars_mask.py", "polars (all threads)")):
            if fmt == "csv" and importlib.util.find_spec(module) is not None:
                cmds.append(Cmd(f"python3 benchmarks/alternatives/{script}",
                                [sys.executable, os.path.join(HERE, "alternatives", script)], "python", env, short=short))
    return cmds


def find_gnu_time():
    """GNU time, if installed: it forks the measured command from a tiny process, so its
    max RSS is the command's own. (The rusage that the driver gets from wait4 has a floor of
    the driver's own RSS: Linux carries the RSS high-water mark over fork+exec.)"""
    exe = "/usr/bin/time"
    if not os.access(exe, os.X_OK):
        return None
    try:
        ok = subprocess.run([exe, "-f", "%M", "-o", os.devnull, "true"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode == 0
    except OSError:
        ok = False
    return exe if ok else None


GNU_TIME = find_gnu_time()


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "unknown"


LOAD_AT_START = loadavg()


def run_once(cmd, input_path, stdout, stderr):
    """Runs cmd with input_path on stdin in a fresh process.
    Returns (exit_code, wall_s, user_s, sys_s, max_rss_kb)."""
    tfile = None
    argv = cmd.argv
    if GNU_TIME:
        fd, tfile = tempfile.mkstemp(prefix="bench-time-")
        os.close(fd)
        argv = [GNU_TIME, "-f", "@@ %M %x", "-o", tfile] + argv
    try:
        with open(input_path, "rb") as fin:
            t0 = time.perf_counter()
            p = subprocess.Popen(argv, stdin=fin, stdout=stdout, stderr=stderr, env=cmd.env,
                                 cwd=ROOT, close_fds=True)
            _, status, ru = os.wait4(p.pid, 0)
            wall = time.perf_counter() - t0
        p.returncode = code = os.waitstatus_to_exitcode(status)  # reaped: keep Popen from waiting
        rss_kb = ru.ru_maxrss
        if tfile:
            with open(tfile) as f:
                lines = [l for l in f.read().splitlines() if l.startswith("@@ ")]
            if lines:
                _, m, x = lines[-1].split()
                rss_kb = int(m)
                code = int(x) if code == 0 else code
    finally:
        if tfile:
            os.unlink(tfile)
    # CPU time from wait4 covers the command (and the negligible time wrapper).
    return code, wall, ru.ru_utime, ru.ru_stime, rss_kb


def stderr_tail(f, n=600):
    f.seek(0)
    data = f.read().decode("utf-8", "replace").strip()
    return data[-n:]


def check_available(cmd):
    exe = cmd.argv[0]
    if os.sep in exe:
        ok = os.path.isfile(exe) and os.access(exe, os.X_OK)
    else:
        ok = shutil.which(exe) is not None
    if not ok:
        cmd.status = "missing"
        cmd.error = f"{exe} not found" + (" (build it, or set MASK_BIN)" if cmd.kind == "mask" else "")
    return ok


def execute(cmd, input_path, stdout):
    with tempfile.TemporaryFile() as err:
        code, wall, user, sys_, rss = run_once(cmd, input_path, stdout, err)
        if code != 0:
            cmd.status = "failed"
            cmd.error = f"exit {code}: {stderr_tail(err)}"
    return code, wall, user, sys_, rss


def ensure_gzip_copy(input_path):
    """The input compressed by pigz -6 (reused while newer than the input)."""
    path = input_path + ".gz"
    if not os.path.exists(path) or os.path.getmtime(path) < os.path.getmtime(input_path):
        log(f"==> compressing {os.path.relpath(input_path, ROOT)} for the .gz input rows (pigz -6)")
        with open(input_path, "rb") as src, open(path + ".tmp", "wb") as dst:
            subprocess.run(["pigz", "-6", "-c"], stdin=src, stdout=dst, check=True)
        os.replace(path + ".tmp", path)
    return path


def bench_format(fmt, input_path, args, mask_bin):
    size = os.path.getsize(input_path)
    cmds = build_commands(fmt, args, mask_bin)
    gzip_path = ensure_gzip_copy(input_path) if any(c.gzip_input for c in cmds) and shutil.which("pigz") else None
    for c in cmds:
        if c.gzip_input:
            c.input_path = gzip_path
            if gzip_path is None:
                c.status, c.error = "missing", "pigz not found (needed to make the .gz input)"
    active = [c for c in cmds if check_available(c)]
    for c in cmds:
        if c.status != "ok":
            log(f"    ! {c.label}: {c.error}")

    # Warm-up: fills the page cache, checks that each command works, measures output size.
    if args.warmup:
        log(f"==> {fmt}: warm-up ({len(active)} commands)")
        for c in active:
            with tempfile.TemporaryFile(dir=os.path.dirname(input_path)) as out:
                code, wall, *_ = execute(c, c.input_path or input_path, out)
                out.seek(0, os.SEEK_END)
                c.out_bytes = out.tell()
            log(f"    {c.label}: {wall:.2f}s" + (f"  FAILED ({c.error.splitlines()[0] if c.error else ''})" if code else ""))
        active = [c for c in active if c.status == "ok"]

    # Timed runs, round-robin so that drift on the machine spreads over all commands.
    for r in range(args.runs):
        log(f"==> {fmt}: run {r + 1}/{args.runs}")
        for c in active:
            if c.status != "ok":
                continue
            code, wall, user, sys_, rss = execute(c, c.input_path or input_path, subprocess.DEVNULL)
            rec = {"run": r + 1, "wall": wall, "user": user, "sys": sys_, "rss_kb": rss, "exit": code}
            c.runs.append(rec)
            log(f"    {c.label}: {wall:.2f}s  {size / 1e6 / wall:.0f} MB/s  rss {rss / 1024:.1f} MB"
                + (f"  FAILED: {c.error}" if code else ""))
    for c in cmds:
        if c.status != "ok" and c.error:
            log(f"    ! {c.label}: {c.status}: {c.error}")
    return size, cmds


# --------------------------------------------------------------------------------------
# Reporting
# --------------------------------------------------------------------------------------

def summarize(c, size):
    ok_runs = [r for r in c.runs if r["exit"] == 0]
    if c.status != "ok" or not ok_runs:
        return None
    walls = [r["wall"] for r in ok_runs]
    med = statistics.median(walls)
    return {
        "median": med, "min": min(walls), "max": max(walls), "n": len(walls),
        "mbps": size / 1e6 / med,
        "cpu": statistics.median([r["user"] + r["sys"] for r in ok_runs]),
        "rss_mb": statistics.median([r["rss_kb"] for r in ok_runs]) / 1024,
    }


def markdown_table(results):
    lines = [
        "| Format | Command | Median s | Min s | Max s | MB/s | vs pigz -p 2 -6 | CPU s | Peak RSS MB | Output MB | Status |",
        "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|",
    ]
    for fmt, size, cmds in results:
        ref = next((summarize(c, size) for c in cmds if c.label == "pigz -p 2 -6"), None)
        for c in cmds:
            s = summarize(c, size)
            out = f"{c.out_bytes / 1e6:.1f}" if c.out_bytes is not None and c.status == "ok" else ""
            if s is None:
                status = c.status if c.status != "ok" else "no runs"
                lines.append(f"| {fmt} | `{c.shown}` | | | | | | | | | {status} |")
                continue
            ratio = f"{ref['median'] / s['median']:.2f}×" if ref else "n/a"
            lines.append(
                f"| {fmt} | `{c.shown}` | {s['median']:.2f} | {s['min']:.2f} | {s['max']:.2f} | "
                f"{s['mbps']:.0f} | {ratio} | {s['cpu']:.2f} | {s['rss_mb']:.1f} | {out} | ok ({s['n']} runs) |")
    return "\n".join(lines)


def failures_md(results):
    out = []
    for fmt, _, cmds in results:
        for c in cmds:
            if c.status != "ok":
                err = " ".join(c.error.split())[:300]
                out.append(f"- {fmt} `{c.shown}`: **{c.status}** — {err}")
    return "\n".join(out)


def sh(argv):
    try:
        p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60, cwd=ROOT)
        return p.stdout.decode("utf-8", "replace").strip()
    except (OSError, subprocess.SubprocessError):
        return ""


def machine_info(mask_bin):
    info = {}
    info["nproc"] = sh(["nproc"]) or str(os.cpu_count())
    cpu = ""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["cpu"] = cpu or platform.processor() or "unknown"
    mem = ""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    mem = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
                    break
    except OSError:
        pass
    info["memory"] = mem or "unknown"
    os_name = ""
    try:
        with open("/etc/os-release") as f:
            for line in f:
                if line.startswith("PRETTY_NAME="):
                    os_name = line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    info["os"] = f"{os_name} (kernel {platform.release()})".strip()
    info["pigz"] = (sh(["pigz", "--version"]).splitlines() or ["not found"])[0]
    info["gzip"] = (sh(["gzip", "--version"]).splitlines() or ["not found"])[0]
    info["swift"] = (sh(["swift", "--version"]).splitlines() or ["not found"])[0]
    info["python"] = platform.python_version()
    info["peak RSS from"] = ("GNU time %M (" + GNU_TIME + ")") if GNU_TIME else \
        "os.wait4 rusage (no GNU time: values have a floor of the driver's own RSS)"
    rev = sh(["git", "rev-parse", "--short", "HEAD"])
    if not rev or " " in rev:
        rev = "(no commit)"
    elif sh(["git", "status", "--porcelain", "--untracked-files=no"]):
        rev += " (dirty)"
    info["git"] = rev
    info["load average at start"] = LOAD_AT_START
    if os.path.isfile(mask_bin):
        st = os.stat(mask_bin)
        info["mask binary"] = (f"{os.path.relpath(mask_bin, ROOT) if mask_bin.startswith(ROOT) else mask_bin}, "
                               f"{st.st_size / 1e6:.1f} MB, built "
                               f"{datetime.datetime.fromtimestamp(st.st_mtime, datetime.timezone.utc).isoformat(timespec='seconds')}")
    else:
        info["mask binary"] = f"{mask_bin} (missing)"
    return info


def write_results(results, args, info, stamp, table, argv):
    res_dir = os.path.join(HERE, "results")
    os.makedirs(res_dir, exist_ok=True)
    csv_path = os.path.join(res_dir, f"{stamp}.csv")
    with open(csv_path, "w", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(["timestamp", "format", "rows", "input_bytes", "command", "kind", "status", "run",
                    "wall_s", "user_s", "sys_s", "max_rss_kb", "exit_code", "output_bytes"])
        for fmt, size, cmds in results:
            for c in cmds:
                if not c.runs:
                    w.writerow([stamp, fmt, args.rows, size, c.label, c.kind, c.status, "", "", "", "",
                                "", "", c.out_bytes if c.out_bytes is not None else ""])
                for r in c.runs:
                    w.writerow([stamp, fmt, args.rows, size, c.label, c.kind, c.status, r["run"],
                                f"{r['wall']:.4f}", f"{r['user']:.3f}", f"{r['sys']:.3f}", r["rss_kb"],
                                r["exit"], c.out_bytes if c.out_bytes is not None else ""])
    md = [f"# mask benchmark — {stamp}", "",
          f"Command: `{' '.join(['bash benchmarks/run.sh'] + list(argv))}`", "",
          "## Machine", ""]
    md += [f"- {k}: {v}" for k, v in info.items()]
    md += ["", "## Input", ""]
    for fmt, size, _ in results:
        md.append(f"- {fmt}: `benchmarks/data/extract-{args.rows}.{fmt}`, {args.rows} rows, "
                  f"{size / 1e6:.1f} MB (seed {args.seed})")
    md += ["", "## Results", "",
           f"Median of {args.runs} runs (round-robin, after {'one warm-up run' if args.warmup else 'no warm-up'}); "
           "input from a file on stdin (page cache), output to /dev/null. MB/s = input bytes / 10^6 / median "
           "wall time. \"vs pigz -p 2 -6\" = pigz's median time / the command's median time (>1 is faster). "
           "CPU s = user+sys, Peak RSS = max resident set size of the process (medians). Output MB is the "
           "warm-up run's output size.", "", table, ""]
    fails = failures_md(results)
    if fails:
        md += ["Failed / missing:", "", fails, ""]
    md += ["Commands (run from the repository root, input file on stdin, stdout to /dev/null):", ""]
    seen = set()
    for fmt, _, cmds in results:
        for c in cmds:
            line = c.label if c.kind != "baseline" else " ".join(c.argv)
            if line not in seen:
                seen.add(line)
                md.append(f"- `{line}`")
    md += ["", f"Raw per-run results: `benchmarks/results/{stamp}.csv`"]
    with open(os.path.join(res_dir, "latest.md"), "w") as f:
        f.write("\n".join(md) + "\n")
    return csv_path


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description="mask benchmark driver (see benchmarks/README.md)")
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of generated input (default 1000000)")
    ap.add_argument("--runs", type=int, default=3, help="timed runs per command (default 3)")
    ap.add_argument("--only", choices=["csv", "jsonl"], help="benchmark one format only")
    ap.add_argument("--skip-python", action="store_true", help="do not run the Python masker")
    ap.add_argument("--warmup", type=int, choices=[0, 1], default=1, help="untimed warm-up run (default 1)")
    ap.add_argument("--seed", type=int, default=DEFAULT_SEED, help="generator seed")
    ap.add_argument("--rules", default="rules/pii.yaml", help="mask rules for CSV (relative to the repo root)")
    ap.add_argument("--rules-jsonl", default=None, help="mask rules for JSONL (default: same as --rules)")
    ap.add_argument("--data-dir", default=os.path.join(HERE, "data"))
    args = ap.parse_args(argv)
    if args.runs < 3:
        log(f"warning: --runs {args.runs} < 3; medians are not meaningful")

    mask_bin = os.environ.get("MASK_BIN") or ".build/release/mask"
    if not os.path.isabs(mask_bin):
        mask_bin = os.path.join(ROOT, mask_bin)
    for tool in ("pigz", "gzip"):
        if not shutil.which(tool):
            log(f"warning: {tool} not found (apt-get install {tool})")

    if LOAD_AT_START != "unknown" and float(LOAD_AT_START.split()[0]) > 0.5:
        log(f"warning: load average is {LOAD_AT_START}: other work on the machine will skew the numbers")
    stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    formats = [args.only] if args.only else ["csv", "jsonl"]
    results = []
    for fmt in formats:
        path = ensure_data(fmt, args.rows, args.seed, args.data_dir, mask_bin)
        size, cmds = bench_format(fmt, path, args, mask_bin)
        results.append((fmt, size, cmds))

    table = markdown_table(results)
    info = machine_info(mask_bin)
    csv_path = write_results(results, args, info, stamp, table, argv)
    print(table)
    fails = failures_md(results)
    if fails:
        print()
        print(fails)
    log(f"\nraw results: {os.path.relpath(csv_path, ROOT)}; report: benchmarks/results/latest.md")


if __name__ == "__main__":
    main()
