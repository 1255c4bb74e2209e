"""Attention on whatever device exists: the pieces chapter 8 and its benchmark (``attn.bench``) share.

- ``pick_device`` and ``synchronize``: CUDA when available, else Apple's MPS, else the CPU;
  wait for queued GPU work before reading a clock.
- ``naive_attention``: scaled dot-product attention that materialises the (..., n, m) scores.
- ``merged_blockwise_attention``: attention over key blocks that never holds more than
  (..., n, block) scores. It attends to each key block on its own and merges the partial
  results with their log-sum-exps; chapter 8's exercise does the same job differently, with a
  running maximum and a running sum.
- ``peak_memory_mib`` and ``score_matrix_mib``: what attention costs in memory, measured and
  computed from shapes.
- ``timed_runs``: the wall times of repeated calls, after warm-up calls.
- ``OperationLog`` and ``largest_intermediate``: which PyTorch operations a call runs, and the
  largest tensor any of them made, to check that a blockwise computation never holds the
  (..., n, m) matrix.

Masks follow the course's convention: ``causal=True`` lets query i attend to key j when
j <= i (the top-left aligned ``torch.ones(n, m).tril()``, as ``is_causal=True`` in PyTorch).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
import time
from typing import Callable, Sequence

import torch
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves


def pick_device() -> torch.device:
    """CUDA if available, else MPS (Apple GPUs), else the CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    if torch.backends.mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def synchronize(device: torch.device) -> None:
    """Wait until the GPU has finished the work queued so far (no-op on the CPU)."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elif device.type == "mps":
        torch.mps.synchronize()


def timed_runs(function: Callable[[], object], device: torch.device, repeats: int = 7, warmup: int = 2) -> list[float]:
    """Wall times in seconds of ``repeats`` calls of ``function``, after ``warmup`` untimed calls."""
    for _ in range(warmup):
        function()
    synchronize(device)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        synchronize(device)
        times.append(time.perf_counter() - started)
    return times


class OperationLog(TorchDispatchMode):
    """Inside ``with OperationLog() as log:``, records every PyTorch operation that runs, as
    (name, its number arguments, the number of elements of the largest tensor it returned)."""

    def __init__(self) -> None:
        super().__init__()
        self.operations: list[tuple[str, list[float], int]] = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        result = func(*args, **(kwargs or {}))
        numbers = [arg for arg in args if isinstance(arg, (int, float)) and not isinstance(arg, bool)]
        sizes = [leaf.numel() for leaf in tree_leaves(result) if isinstance(leaf, Tensor)]
        self.operations.append((func.overloadpacket.__name__, numbers, max(sizes, default=0)))
        return result

    def names(self) -> list[str]:
        """The operations' names, in the order they ran."""
        return [name for name, _, _ in self.operations]


def largest_intermediate(function: Callable[..., object], *args, **kwargs) -> int:
    """The number of elements of the largest tensor that any PyTorch operation produced while
    ``function(*args, **kwargs)`` ran (its inputs do not count; its outputs do)."""
    with OperationLog() as log:
        function(*args, **kwargs)
    return max((size for _, _, size in log.operations), default=0)


def causal_allowed(n: int, m: int, device: torch.device | None = None) -> Tensor:
    """Bool (n, m): True where query i may attend to key j, that is j <= i."""
    return torch.ones(n, m, dtype=torch.bool, device=device).tril()


def naive_attention(q: Tensor, k: Tensor, v: Tensor, causal: bool = False) -> Tensor:
    """softmax(q k^T / sqrt(d)) v with the whole (..., n, m) score matrix in memory.

    q (..., n, d), k (..., m, d), v (..., m, d_v) -> (..., n, d_v).
    """
    scale = 1.0 / math.sqrt(q.shape[-1])
    logits = torch.matmul(q, k.transpose(-2, -1)) * scale  # (..., n, m): the n x m matrix
    if causal:
        allowed = causal_allowed(q.shape[-2], k.shape[-2], q.device)
        logits = logits.masked_fill(~allowed, float("-inf"))
    return torch.matmul(torch.softmax(logits, dim=-1), v)  # (..., n, d_v)


def merged_blockwise_attention(q: Tensor, k: Tensor, v: Tensor, block_size: int = 128,
                               causal: bool = False) -> Tensor:
    """Attention over key blocks, merging per-block results by their log-sum-exp.

    q (..., n, d), k (..., m, d), v (..., m, d_v) -> (..., n, d_v). For each block of keys it
    computes the block's own attention output and the log-sum-exp of its scores, then merges
    it into the result so far: two partial results weigh by exp(their log-sum-exp minus the
    merged one). At most (..., n, block_size) scores exist at a time. A query with no key
    to attend to gets a zero output.
    """
    n, m = q.shape[-2], k.shape[-2]
    scale = 1.0 / math.sqrt(q.shape[-1])
    merged = torch.zeros(*q.shape[:-1], v.shape[-1], dtype=q.dtype, device=q.device)  # (..., n, d_v)
    merged_lse = torch.full((*q.shape[:-1], 1), float("-inf"), dtype=q.dtype, device=q.device)  # (..., n, 1)
    for start in range(0, m, block_size):
        stop = min(start + block_size, m)
        logits = torch.matmul(q, k[..., start:stop, :].transpose(-2, -1)) * scale  # (..., n, b)
        if causal:
            rows = torch.arange(n, device=q.device)[:, None]
            cols = torch.arange(start, stop, device=q.device)[None, :]
            logits = logits.masked_fill(cols > rows, float("-inf"))
        block_lse = torch.logsumexp(logits, dim=-1, keepdim=True)  # (..., n, 1), -inf if all masked
        safe_block_lse = torch.where(torch.isinf(block_lse), torch.zeros_like(block_lse), block_lse)
        block_out = torch.matmul(torch.exp(logits - safe_block_lse), v[..., start:stop, :])  # (..., n, d_v)
        new_lse = torch.logaddexp(merged_lse, block_lse)  # (..., n, 1)
        safe_new_lse = torch.where(torch.isinf(new_lse), torch.zeros_like(new_lse), new_lse)
        merged = merged * torch.exp(merged_lse - safe_new_lse) + block_out * torch.exp(block_lse - safe_new_lse)
        merged_lse = new_lse
    return merged


def score_matrix_mib(batch: int, heads: int, n: int, m: int, dtype: torch.dtype = torch.float32) -> float:
    """Size in MiB of one (batch, heads, n, m) score matrix, computed from its shape."""
    return batch * heads * n * m * torch.finfo(dtype).bits / 8 / 2**20


_PEAK_RSS_CHILD = r"""
import json, math, resource, sys
import torch
import torch.nn.functional as F
from torch import nn
method, sizes, heads, d, threads = json.loads(sys.argv[1])
torch.set_num_threads(threads)
scale = 1.0 / math.sqrt(d)

def status_kib(field):
    # VmHWM (peak) or VmRSS (now) from /proc/self/status, in KiB; None where there is no /proc
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        return None

def reset_peak():
    # Linux: writing 5 to clear_refs resets the peak (VmHWM) to the current resident size
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
        return status_kib("VmHWM") is not None
    except OSError:
        return False

def max_rss_kib():
    # fallback: the process's peak so far (KiB on Linux, bytes on macOS); it may include the parent's
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024 if sys.platform == "darwin" else peak

def prepare(n):
    # the call to measure, with its inputs (and module) made beforehand
    generator = torch.Generator().manual_seed(n)
    if method.startswith("torch_mha"):
        torch.backends.mha.set_fastpath_enabled(method == "torch_mha")
        module = nn.MultiheadAttention(heads * d, heads, batch_first=True).eval()
        x = torch.randn(1, n, heads * d, generator=generator)
        return lambda: module(x, x, x, need_weights=False)
    q, k, v = (torch.randn(1, heads, n, d, generator=generator) for _ in range(3))
    if method == "naive":
        return lambda: torch.matmul(torch.softmax(torch.matmul(q, k.transpose(-2, -1)) * scale, dim=-1), v)
    return lambda: F.scaled_dot_product_attention(q, k, v)

def run(n):
    call = prepare(n)
    if reset_peak():
        before, peak = status_kib("VmRSS"), lambda: status_kib("VmHWM")
    else:
        before, peak = max_rss_kib(), max_rss_kib
    with torch.inference_mode():
        call()
    return max(peak() - before, 0) / 1024

run(min(sizes))  # warm up: load the kernels before measuring
print(json.dumps([run(n) for n in sorted(sizes)]))
"""


def peak_memory_mib(method: str, sizes: Sequence[int], heads: int = 1, d: int = 64,
                    device: torch.device | None = None, threads: int | None = None) -> list[float]:
    """Peak memory growth in MiB of one attention call (batch 1) for each n in ``sizes`` (ascending).

    ``method`` is ``"naive"`` (materialises the scores), ``"sdpa"``
    (``torch.nn.functional.scaled_dot_product_attention``), or, on the CPU only, ``"torch_mha"``
    or ``"torch_mha_no_fastpath"``: ``torch.nn.MultiheadAttention`` (d_model = heads * d,
    self-attention, eval mode, no weights returned) with its inference fast path on or off.
    Every call runs in ``torch.inference_mode()``. On CUDA it reads
    ``torch.cuda.max_memory_allocated`` around the call. On any other device (the CPU, and MPS,
    which it measures on the CPU instead), Python's ``tracemalloc`` cannot see torch's
    allocations, so it runs the calls in a fresh Python process and reports how far the
    process's peak resident memory rose above its resident memory before each call.
    On Linux the peak (``VmHWM`` in ``/proc/self/status``) is reset before each call through
    ``/proc/self/clear_refs``; elsewhere it falls back to ``resource.getrusage().ru_maxrss``,
    with sizes in increasing order so that each call sets a new peak. Returns [] where
    ``resource`` is missing (Windows).
    """
    sizes = sorted(sizes)
    device = device or torch.device("cpu")
    if device.type == "cuda":
        if method.startswith("torch_mha"):
            raise ValueError(f"{method} is measured on the CPU only")
        return [_cuda_peak_mib(method, n, heads, d, device) for n in sizes]
    try:
        import resource  # noqa: F401  (POSIX only)
    except ImportError:
        return []
    threads = threads or torch.get_num_threads()
    finished = subprocess.run([sys.executable, "-c", _PEAK_RSS_CHILD, json.dumps([method, sizes, heads, d, threads])],
                              capture_output=True, text=True, check=True)
    return json.loads(finished.stdout)


def _cuda_peak_mib(method: str, n: int, heads: int, d: int, device: torch.device) -> float:
    generator = torch.Generator(device=device).manual_seed(n)
    q, k, v = (torch.randn(1, heads, n, d, generator=generator, device=device) for _ in range(3))
    torch.cuda.synchronize(device)
    torch.cuda.reset_peak_memory_stats(device)
    before = torch.cuda.memory_allocated(device)
    if method == "naive":
        naive_attention(q, k, v)
    else:
        torch.nn.functional.scaled_dot_product_attention(q, k, v)
    torch.cuda.synchronize(device)
    return (torch.cuda.max_memory_allocated(device) - before) / 2**20
