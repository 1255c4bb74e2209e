"""The course's attention benchmark (chapter 8).

    python -m attn.bench            # full grid; writes book/results/bench_<device>.json and .png
    python -m attn.bench --quick    # small grid, under 2 minutes on a CPU; writes to a temporary folder

It times the forward pass of five ways to compute attention, on whatever device exists
(CUDA, else MPS, else CPU), in float32, eval mode and ``torch.inference_mode()``:

- ``naive``: softmax(q k^T / sqrt(d)) v with the n x m scores in memory (``attn.flash``);
- ``blockwise``: attention over key blocks of 128, merged by log-sum-exp (``attn.flash``);
- ``sdpa``: ``torch.nn.functional.scaled_dot_product_attention`` (PyTorch picks the backend);
- ``course_mha``: the course's multi-head attention module, ``attn.encoder.Attention``;
- ``torch_mha``: ``torch.nn.MultiheadAttention(batch_first=True)``.

The first three take (batch, heads, n, d) queries, keys and values; the two modules take
(batch, n, heads * d) inputs and include the four projections. Every number is the median
of repeated runs after warm-up runs, at a fixed thread count; ``relative_spread`` says how
much the runs of one cell scatter around it. ``mha_vs_torch_ratio`` is course_mha's median time
divided by torch_mha's, both measured side by side (alternating) on the same input with
batch 8, n 512, d_model 512 and 8 heads.
"""

from __future__ import annotations

import argparse
import json
import math
import platform
import statistics
import tempfile
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F
from torch import nn

from attn.encoder import Attention
from attn.flash import merged_blockwise_attention, naive_attention, pick_device, timed_runs

RESULTS_DIR = Path(__file__).resolve().parent.parent / "book" / "results"
METHODS = ("naive", "blockwise", "sdpa", "course_mha", "torch_mha")
LABELS = {
    "naive": "naive (n x n scores)",
    "blockwise": "blockwise, log-sum-exp merge",
    "sdpa": "scaled_dot_product_attention",
    "course_mha": "course Attention module",
    "torch_mha": "nn.MultiheadAttention",
}
BLOCK_SIZE = 128
MHA_SHAPE = (8, 512, 512, 8)  # batch, n, d_model, heads: the ratio's setting
FULL_SIZES = {"cpu": [256, 512, 1024, 2048, 4096], "gpu": [256, 512, 1024, 2048, 4096, 8192, 16384]}
QUICK_SIZES = [128, 256, 512]
QUICK_REPEATS, QUICK_WARMUP = 9, 3  # the build runs the quick grid: enough runs for a stable median
FULL_REPEATS, FULL_WARMUP = 7, 2


def device_name(device: torch.device) -> str:
    """A readable name of the processor or GPU."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    if device.type == "mps":
        return "Apple GPU (MPS)"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def attention_inputs(batch: int, heads: int, n: int, d: int, device: torch.device) -> list[torch.Tensor]:
    """Seeded q, k, v of shape (batch, heads, n, d), float32, on ``device``."""
    generator = torch.Generator().manual_seed(n * 1000 + d)
    return [torch.randn(batch, heads, n, d, generator=generator).to(device) for _ in range(3)]


def mha_pair(d_model: int, heads: int, device: torch.device) -> tuple[Attention, nn.MultiheadAttention]:
    """The course's module and PyTorch's, of the same size, in eval mode.

    Their weights differ (timing does not depend on the values); tests/test_encoder.py shows
    that the two agree when they do share weights.
    """
    torch.manual_seed(0)
    theirs = nn.MultiheadAttention(d_model, heads, batch_first=True).to(device).eval()
    ours = Attention(d_model, heads).to(device).eval()
    return ours, theirs


def method_calls(batch: int, heads: int, n: int, d: int, device: torch.device) -> dict[str, Callable[[], object]]:
    """One zero-argument call per method, on inputs of this size."""
    q, k, v = attention_inputs(batch, heads, n, d, device)
    x = q.transpose(1, 2).reshape(batch, n, heads * d)  # (batch, n, d_model)
    ours, theirs = mha_pair(heads * d, heads, device)
    return {
        "naive": lambda: naive_attention(q, k, v),
        "blockwise": lambda: merged_blockwise_attention(q, k, v, BLOCK_SIZE),
        "sdpa": lambda: F.scaled_dot_product_attention(q, k, v),
        "course_mha": lambda: ours(x, x, x),
        "torch_mha": lambda: theirs(x, x, x, need_weights=False),
    }


def time_grid(sizes: list[int], batch: int, heads: int, d: int, device: torch.device, repeats: int, warmup: int,
              log: Callable[[str], None]) -> list[dict]:
    """Median times of every method for every n in ``sizes``."""
    rows = []
    for n in sizes:
        calls = method_calls(batch, heads, n, d, device)
        for method in METHODS:
            runs = timed_runs(calls[method], device, repeats, warmup)
            row = {"method": method, "batch": batch, "heads": heads, "n": n, "d": d,
                   "median_ms": 1000 * statistics.median(runs), "runs_ms": [1000 * t for t in runs]}
            rows.append(row)
            log(f"{method:>11}  B={batch} h={heads} n={n:>5} d={d}  {row['median_ms']:10.3f} ms")
    return rows


def mha_ratio(shape: tuple[int, int, int, int], device: torch.device, repeats: int, warmup: int) -> dict:
    """course_mha / torch_mha forward time, alternating runs on the same input; medians."""
    batch, n, d_model, heads = shape
    ours, theirs = mha_pair(d_model, heads, device)
    generator = torch.Generator().manual_seed(512)
    x = torch.randn(batch, n, d_model, generator=generator).to(device)
    course, torch_runs = [], []
    for _ in range(warmup):
        ours(x, x, x)
        theirs(x, x, x, need_weights=False)
    for _ in range(repeats):
        course += timed_runs(lambda: ours(x, x, x), device, 1, 0)
        torch_runs += timed_runs(lambda: theirs(x, x, x, need_weights=False), device, 1, 0)
    course_ms, torch_ms = 1000 * statistics.median(course), 1000 * statistics.median(torch_runs)
    return {"batch": batch, "n": n, "d_model": d_model, "heads": heads, "repeats": repeats,
            "course_ms": course_ms, "torch_ms": torch_ms, "ratio": course_ms / torch_ms}


def relative_spread(runs_ms: list[float]) -> float:
    """Interquartile range of the runs divided by their median: 0.05 means the middle half of
    the runs lie within a band 5% of the median wide."""
    if len(runs_ms) < 2:
        return 0.0
    lower, _, upper = statistics.quantiles(runs_ms, n=4, method="inclusive")
    return (upper - lower) / statistics.median(runs_ms)


def thread_count(threads: int) -> str:
    """'1 thread', '2 threads', ..."""
    return f"{threads} thread" + ("" if threads == 1 else "s")


def describe_run(results: dict) -> str:
    """One line: the device, its name, the thread count, torch, and how each number was taken."""
    return (f"{results['device']} ({results['device_name']}), {thread_count(results['threads'])}, "
            f"torch {results['torch']}, {results['dtype']}, median of {results['repeats']} runs "
            f"after {results['warmup']} warm-up runs")


def format_table(results: dict) -> str:
    """The median times in ms as a table, one row per method, one column per n; each median is
    followed by its relative spread (``relative_spread``) in percent."""
    sizes = sorted({r["n"] for r in results["timings"]})
    lines = ["median time in ms (spread: the interquartile range of the runs, in % of the median)",
             f"{'method':>11} " + " ".join(f"{'n=' + str(n):>13}" for n in sizes)]
    for method in METHODS:
        rows = sorted((r for r in results["timings"] if r["method"] == method), key=lambda r: r["n"])
        cells = [f"{r['median_ms']:.1f} ({100 * relative_spread(r['runs_ms']):.0f}%)" for r in rows]
        lines.append(f"{method:>11} " + " ".join(f"{cell:>13}" for cell in cells))
    return "\n".join(lines)


def fitted_slopes(rows: list[dict]) -> dict[str, float]:
    """Least-squares slope of log(time) against log(n), per method: 2 means time grows like n^2."""
    slopes = {}
    for method in METHODS:
        points = [(math.log(r["n"]), math.log(r["median_ms"])) for r in rows if r["method"] == method]
        if len(points) >= 2:
            mean_x = sum(x for x, _ in points) / len(points)
            mean_y = sum(y for _, y in points) / len(points)
            slopes[method] = (sum((x - mean_x) * (y - mean_y) for x, y in points)
                              / sum((x - mean_x) ** 2 for x, _ in points))
    return slopes


def run_benchmark(quick: bool = False, threads: int | None = None, device: torch.device | None = None,
                  sizes: list[int] | None = None, mha_shape: tuple[int, int, int, int] | None = None,
                  batch: int = 1, heads: int = 8, d: int = 64, repeats: int | None = None,
                  log: Callable[[str], None] = print) -> dict:
    """Run the benchmark and return its results (the JSON's content)."""
    started = time.perf_counter()
    device = device or pick_device()
    command = "python -m attn.bench" + (" --quick" if quick else "") + (f" --threads {threads}" if threads else "")
    if threads is not None:
        torch.set_num_threads(threads)
    threads = torch.get_num_threads()
    if sizes is None:
        sizes = QUICK_SIZES if quick else FULL_SIZES["cpu" if device.type == "cpu" else "gpu"]
    mha_shape = mha_shape or MHA_SHAPE
    repeats = repeats or (QUICK_REPEATS if quick else FULL_REPEATS)
    warmup = QUICK_WARMUP if quick else FULL_WARMUP
    name = device_name(device)
    log(f"attention benchmark on {device.type} ({name}), {thread_count(threads)}, "
        f"float32, median of {repeats} runs after {warmup} warm-up runs")
    with torch.inference_mode():
        rows = time_grid(sizes, batch, heads, d, device, repeats, warmup, log)
        mha = mha_ratio(mha_shape, device, repeats=15 if quick else 21, warmup=warmup)
    log(f"course_mha / torch_mha at B={mha['batch']} n={mha['n']} d_model={mha['d_model']} h={mha['heads']}: "
        f"{mha['course_ms']:.2f} ms / {mha['torch_ms']:.2f} ms = {mha['ratio']:.3f}")
    return {
        "command": command,
        "quick": quick,
        "device": device.type,
        "device_name": name,
        "threads": threads,
        "torch": torch.__version__,
        "dtype": "float32",
        "repeats": repeats,
        "warmup": warmup,
        "block_size": BLOCK_SIZE,
        "timings": rows,
        "slopes": fitted_slopes(rows),
        "mha": mha,
        "mha_vs_torch_ratio": mha["ratio"],
        "wall_s": time.perf_counter() - started,
    }


def plot_results(results: dict, ax=None):
    """Log-log plot of median time against n, one line per method; returns the axes."""
    if ax is None:
        from matplotlib.figure import Figure

        ax = Figure(figsize=(6, 4)).subplots()
    for method in METHODS:
        rows = [r for r in results["timings"] if r["method"] == method]
        slope = results["slopes"].get(method)
        label = LABELS[method] + (f" (slope {slope:.2f})" if slope is not None else "")
        ax.loglog([r["n"] for r in rows], [r["median_ms"] for r in rows], marker="o", label=label)
    first = results["timings"][0]
    sizes = sorted({r["n"] for r in results["timings"]})
    ax.set_xticks(sizes, [str(n) for n in sizes])
    ax.minorticks_off()
    ax.set_xlabel("sequence length n")
    ax.set_ylabel("median forward time (ms)")
    ax.set_title(f"Attention on {results['device']}, {thread_count(results['threads'])} "
                 f"(B={first['batch']}, h={first['heads']}, d={first['d']})", fontsize=10)
    ax.legend(fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    return ax


def write_results(results: dict, out_dir: Path) -> tuple[Path, Path]:
    """Write bench_<device>.json and bench_<device>.png into ``out_dir``; return both paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    json_path = out_dir / f"bench_{results['device']}.json"
    png_path = out_dir / f"bench_{results['device']}.png"
    json_path.write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    ax = plot_results(results)
    ax.figure.tight_layout()
    ax.figure.savefig(png_path, dpi=120)
    return json_path, png_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m attn.bench", description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="small grid, under 2 minutes on a CPU")
    parser.add_argument("--threads", type=int, default=None,
                        help="CPU threads (default: torch's default); 1 gives steadier numbers on a busy machine")
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: book/results, or a temporary folder with --quick)")
    args = parser.parse_args(argv)
    results = run_benchmark(quick=args.quick, threads=args.threads)
    out_dir = args.out or (Path(tempfile.gettempdir()) / "attn-bench" if args.quick else RESULTS_DIR)
    json_path, png_path = write_results(results, out_dir)
    print(f"wrote {json_path} and {png_path} in {results['wall_s']:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
