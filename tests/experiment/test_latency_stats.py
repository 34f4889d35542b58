"""api/latency_stats.py: the pure statistics F1 ships with."""

import math

import pytest

from api.latency_stats import (
    effective_concurrency,
    estimate_waves,
    peak_concurrency,
    percentile,
    summarize,
)


def test_percentile_interpolates_between_ranks():
    values = [10.0, 20.0, 30.0, 40.0]
    assert percentile(values, 0) == 10.0
    assert percentile(values, 50) == 25.0
    assert percentile(values, 100) == 40.0
    assert percentile(values, 95) == pytest.approx(38.5)
    assert percentile([7.0], 95) == 7.0


@pytest.mark.parametrize("values, q", [([], 50), ([1.0], -1), ([1.0], 101)])
def test_percentile_rejects_empty_input_and_bad_q(values, q):
    with pytest.raises(ValueError):
        percentile(values, q)


def test_summarize_sorts_and_reports_every_field():
    stats = summarize([3.0, 1.0, 2.0, 100.0])
    assert stats == {
        "count": 4,
        "min": 1.0,
        "p50": 2.5,
        "p95": pytest.approx(85.45),
        "max": 100.0,
        "mean": 26.5,
    }


def test_summarize_of_nothing_has_count_zero_and_nans():
    stats = summarize([])
    assert stats["count"] == 0
    assert all(math.isnan(stats[k]) for k in ("min", "p50", "p95", "max", "mean"))


def test_waves_all_at_once_is_one_wave():
    starts = [i * 0.5 for i in range(1000)]  # 1000 calls started within 0.5 s, d = 1 s
    assert estimate_waves(starts, 1000) == 1


def test_waves_follow_gaps_of_about_one_delay():
    # a cap of 8 with d = 1 s: 8 calls at ~0 ms, 8 at ~1005 ms, 4 at ~2010 ms
    starts = [0, 1, 2, 2, 3, 3, 4, 5] + [1005 + i for i in range(8)] + [2010 + i for i in range(4)]
    assert estimate_waves(reversed(starts), 1000) == 3


def test_waves_edge_cases():
    assert estimate_waves([], 1000) == 0
    assert estimate_waves([0, 5000, 10000], 0) == 1  # no delay: nothing separates waves
    assert estimate_waves([0, 400], 1000) == 1  # a gap under d / 2 is jitter, not a wave


def test_peak_concurrency_counts_overlaps_not_back_to_back_intervals():
    assert peak_concurrency([]) == 0
    assert peak_concurrency([(0, 10), (0, 10), (5, 15)]) == 3
    assert peak_concurrency([(0, 10), (10, 20), (20, 30)]) == 1
    assert peak_concurrency([(0, 10)] * 1000) == 1000


def test_peak_concurrency_ignores_jitter_where_waves_hand_over():
    # two waves of 2 calls of 100 ms; the second seen starting 2 ms before the first ended
    assert peak_concurrency([(0, 100), (0, 100), (98, 200), (98, 200)]) == 2


def test_effective_concurrency():
    assert effective_concurrency(1000, 1000, 1250) == 800
    assert effective_concurrency(64, 1000, 8000) == 8
    assert effective_concurrency(10, 0, 5) == 0
    assert effective_concurrency(10, 100, 0) == 0
