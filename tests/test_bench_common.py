"""recplug.bench.common: the timing helpers every benchmark shares."""

from recplug.bench.common import BenchRow, paired_medians


def test_paired_medians_alternate_and_swap_the_order_every_round():
    calls = []
    ours, alternative = paired_medians(lambda: calls.append("a"), lambda: calls.append("b"), 4,
                                       min_seconds=0.0)
    # one warm-up each, then rounds a b / b a / a b / b a: both see the same machine load
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b", "b", "a"]
    assert ours >= 0.0 and alternative >= 0.0


def test_bench_row_ratio_and_target():
    row = BenchRow("k", "shape", ours_s=0.5, alternative="alt", alternative_s=2.0, target=3.0)
    assert row.ratio == 4.0 and row.met
    assert not BenchRow("k", "s", 1.0, "alt", 2.0, 3.0).met
    assert row.to_dict()["ratio"] == 4.0


def test_paired_medians_take_more_rounds_for_fast_pairs():
    calls = []
    paired_medians(lambda: calls.append("a"), lambda: calls.append("b"), 3, min_seconds=10.0,
                   max_repeats=9)
    assert calls.count("a") == calls.count("b") == 1 + 9
