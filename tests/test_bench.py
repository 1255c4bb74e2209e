"""The benchmark (python -m attn.bench) and its building blocks, on tiny sizes so that CI stays fast."""

from __future__ import annotations

import json
import sys

import pytest
import torch
import torch.nn.functional as F

import attn.bench as bench
from attn.flash import (OperationLog, largest_intermediate, merged_blockwise_attention, naive_attention,
                        peak_memory_mib, score_matrix_mib)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
def keep_threads():
    threads = torch.get_num_threads()
    yield
    torch.set_num_threads(threads)


def check_schema(results: dict, sizes: list[int], repeats: int) -> None:
    assert results["device"] in {"cpu", "cuda", "mps"} and results["device_name"]
    assert isinstance(results["threads"], int) and results["threads"] >= 1
    assert results["dtype"] == "float32" and results["repeats"] == repeats
    cells = {(row["method"], row["n"]) for row in results["timings"]}
    assert cells == {(method, n) for method in bench.METHODS for n in sizes}
    for row in results["timings"]:
        assert row["median_ms"] > 0 and len(row["runs_ms"]) == repeats
        assert min(row["runs_ms"]) <= row["median_ms"] <= max(row["runs_ms"])
    assert set(results["slopes"]) == set(bench.METHODS)
    mha = results["mha"]
    assert mha["course_ms"] > 0 and mha["torch_ms"] > 0
    assert results["mha_vs_torch_ratio"] == pytest.approx(mha["course_ms"] / mha["torch_ms"])


def test_quick_benchmark_on_tiny_sizes_writes_json_and_plot(tmp_path, keep_threads):
    lines: list[str] = []
    results = bench.run_benchmark(quick=True, threads=1, device=torch.device("cpu"), sizes=[32, 64],
                                  mha_shape=(2, 32, 32, 4), heads=2, d=16, repeats=2, log=lines.append)
    assert results["threads"] == 1 and results["device"] == "cpu" and results["quick"]
    assert results["command"] == "python -m attn.bench --quick --threads 1"
    assert "cpu" in lines[0] and "1 thread," in lines[0] and "course_mha / torch_mha" in lines[-1]
    assert "median of 2 runs after 3 warm-up runs" in lines[0]
    json_path, png_path = bench.write_results(results, tmp_path)
    assert json_path.name == "bench_cpu.json" and png_path.name == "bench_cpu.png"
    check_schema(json.loads(json_path.read_text()), [32, 64], 2)
    assert png_path.read_bytes()[:8] == PNG_MAGIC


def test_command_line_quick_mode(tmp_path, monkeypatch, capsys, keep_threads):
    monkeypatch.setattr(bench, "QUICK_SIZES", [16, 32])
    monkeypatch.setattr(bench, "MHA_SHAPE", (1, 16, 32, 4))
    assert bench.main(["--quick", "--threads", "1", "--out", str(tmp_path)]) == 0
    results = json.loads((tmp_path / f"bench_{bench.pick_device().type}.json").read_text())
    check_schema(results, [16, 32], bench.QUICK_REPEATS)
    assert results["threads"] == 1
    printed = capsys.readouterr().out
    assert "1 thread," in printed and f"median of {bench.QUICK_REPEATS} runs" in printed and "wrote" in printed


def test_committed_cpu_results_come_from_the_full_command():
    results = json.loads((bench.RESULTS_DIR / "bench_cpu.json").read_text())
    assert results["command"].startswith("python -m attn.bench") and "--quick" not in results["command"]
    assert not results["quick"]
    check_schema(results, bench.FULL_SIZES["cpu"], results["repeats"])
    assert (results["mha"]["batch"], results["mha"]["n"], results["mha"]["d_model"], results["mha"]["heads"]) \
        == bench.MHA_SHAPE
    assert (bench.RESULTS_DIR / "bench_cpu.png").read_bytes()[:8] == PNG_MAGIC


@pytest.mark.parametrize("causal", [False, True])
@pytest.mark.parametrize("n, m, block", [(37, 29, 8), (5, 40, 7), (20, 20, 64)])
def test_blockwise_and_naive_attention_match_sdpa(n, m, block, causal):
    generator = torch.Generator().manual_seed(n * m)
    q = torch.randn(2, 3, n, 8, generator=generator, dtype=torch.float64)
    k = torch.randn(2, 3, m, 8, generator=generator, dtype=torch.float64)
    v = torch.randn(2, 3, m, 5, generator=generator, dtype=torch.float64)
    expected = F.scaled_dot_product_attention(q, k, v, is_causal=causal)
    torch.testing.assert_close(naive_attention(q, k, v, causal), expected)
    torch.testing.assert_close(merged_blockwise_attention(q, k, v, block, causal), expected)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the peak-RSS reset needs Linux's /proc")
def test_peak_memory_of_naive_attention_grows_with_the_score_matrix():
    naive = peak_memory_mib("naive", [512, 2048], heads=1, d=32)
    sdpa = peak_memory_mib("sdpa", [512, 2048], heads=1, d=32)
    assert naive[1] >= score_matrix_mib(1, 1, 2048, 2048)  # at least one 2048 x 2048 float32 matrix
    assert sdpa[1] < naive[1] / 2


def test_relative_spread_is_the_interquartile_range_over_the_median():
    assert bench.relative_spread([10.0, 10.0, 10.0]) == 0.0
    # quartiles of 1..9 (inclusive method) are 3 and 7, the median 5
    assert bench.relative_spread([float(x) for x in range(9, 0, -1)]) == pytest.approx(4 / 5)
    assert bench.relative_spread([4.0]) == 0.0


def test_thread_count_and_the_table_of_a_run():
    assert bench.thread_count(1) == "1 thread" and bench.thread_count(2) == "2 threads"
    results = {"timings": [{"method": method, "n": n, "median_ms": 2.0 * n, "runs_ms": [2.0 * n, 2.0 * n, 3.0 * n]}
                           for method in bench.METHODS for n in (64, 32)],
               "device": "cpu", "device_name": "test CPU", "threads": 1, "torch": "x", "dtype": "float32",
               "repeats": 3, "warmup": 2}
    table = bench.format_table(results).splitlines()
    assert table[1].split() == ["method", "n=32", "n=64"]  # columns in increasing n
    assert [line.split()[0] for line in table[2:]] == list(bench.METHODS)
    assert table[2].split()[1:] == ["64.0", "(25%)", "128.0", "(25%)"]  # quartiles 2n, 2.5n: 0.5n / 2n
    assert bench.describe_run(results).startswith("cpu (test CPU), 1 thread, torch x, float32, median of 3 runs")


def test_plot_title_says_thread_in_the_singular():
    results = json.loads((bench.RESULTS_DIR / "bench_cpu.json").read_text())
    results["threads"] = 1
    assert ", 1 thread " in bench.plot_results(results).get_title()


def test_largest_intermediate_sees_the_score_matrix_of_naive_attention_only():
    generator = torch.Generator().manual_seed(3)
    q, k, v = (torch.randn(2, 24, 4, generator=generator) for _ in range(3))
    assert largest_intermediate(naive_attention, q, k, v) == 2 * 24 * 24
    assert largest_intermediate(merged_blockwise_attention, q, k, v, 6) == 2 * 24 * 6
    with OperationLog() as log:
        torch.mul(q, 0.5)
    assert log.operations == [("mul", [0.5], q.numel())] and log.names() == ["mul"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the peak-RSS reset needs Linux's /proc")
def test_the_multi_head_attention_fast_path_holds_the_score_tensor_on_the_cpu():
    """nn.MultiheadAttention's inference fast path materialises the (h, n, n) scores; without it,
    the module calls scaled_dot_product_attention and does not."""
    scores = score_matrix_mib(1, 8, 1024, 1024)
    fast = peak_memory_mib("torch_mha", [1024], heads=8, d=16, threads=1)[0]
    slow = peak_memory_mib("torch_mha_no_fastpath", [1024], heads=8, d=16, threads=1)[0]
    assert fast - slow > 0.5 * scores
    with pytest.raises(ValueError):
        peak_memory_mib("torch_mha", [16], device=torch.device("cuda"))
