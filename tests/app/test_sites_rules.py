"""Site processing's pure parts: input rules, batching and the summary."""

import pytest

from orchestrators import sites_rules as rules
from orchestrators.inputs import InputError


def test_count_input_gets_defaults_and_generated_names():
    request = rules.parse_sites_request({"count": 3})
    assert request == {"count": 3, "connect_ms": 1000, "work_ms": 2000, "max_width": 1000,
                       "fail": []}
    assert rules.site_names(request) == ["site-0", "site-1", "site-2"]


def test_explicit_sites_keep_their_order_and_the_default_width_is_configurable():
    request = rules.parse_sites_request({"sites": ["https://a.example", " b "]},
                                        default_max_width=50)
    assert rules.site_names(request) == ["https://a.example", "b"]
    assert request["max_width"] == 50


@pytest.mark.parametrize("raw, field", [
    ({"count": -1}, "count"),
    ({"count": 0}, "count"),
    ({"count": 2.5}, "count"),
    ({"count": True}, "count"),
    ({}, "sites"),
    ({"count": 2, "sites": ["a"]}, "sites"),
    ({"sites": []}, "sites"),
    ({"sites": ["a", ""]}, "sites[1]"),
    ({"count": 1, "connect_ms": -1}, "connect_ms"),
    ({"count": 1, "work_ms": "2000"}, "work_ms"),
    ({"count": 1, "max_width": 0}, "max_width"),
    ({"count": 1, "conect_ms": 5}, "conect_ms"),
    ([1, 2], ""),
])
def test_bad_inputs_name_the_field(raw, field):
    with pytest.raises(InputError) as caught:
        rules.parse_sites_request(raw)
    assert caught.value.field == field


def test_batches_are_bounded_by_the_width_and_cover_every_site_once():
    sites = [f"s{i}" for i in range(2501)]
    chunks = rules.batches(sites, 1000)
    assert [len(c) for c in chunks] == [1000, 1000, 501]
    assert [s for c in chunks for s in c] == sites
    assert rules.batches(sites[:3], 1000) == [sites[:3]]


def _result(site, duration):
    return {"site": site, "connect_ms": 1.0, "work_ms": duration - 1, "duration_ms": duration}


def test_summary_reports_slowest_total_and_sequential_estimate():
    request = {"connect_ms": 1000, "work_ms": 2000}
    summary = rules.summarize([_result("a", 3001.5), _result("b", 3010.0)],
                              [{"site": "c", "error": "SiteUnreachableError: down"}],
                              elapsed_ms=3120.04, request=request)
    assert summary == {
        "sites": 3, "processed": 2, "failed": 1,
        "failures": [{"site": "c", "error": "SiteUnreachableError: down"}],
        "slowest_site": "b", "slowest_ms": 3010.0, "total_ms": 3120.0,
        "sequential_estimate_ms": 6011.5, "batches": 0, "connect_ms": 1000, "work_ms": 2000,
    }


def test_merged_batches_add_up_and_keep_the_parent_elapsed_time():
    request = {"connect_ms": 1, "work_ms": 2}
    first = rules.summarize([_result("a", 5.0)], [], 6.0, request)
    second = rules.summarize([_result("b", 9.0)], [{"site": "c", "error": "x"}], 10.0, request)
    merged = rules.merge([first, second], elapsed_ms=12.0, request=request, batch_count=2)
    assert (merged["sites"], merged["processed"], merged["failed"]) == (3, 2, 1)
    assert (merged["slowest_site"], merged["slowest_ms"]) == ("b", 9.0)
    assert merged["sequential_estimate_ms"] == 14.0 and merged["total_ms"] == 12.0
    assert merged["batches"] == 2 and merged["failures"] == [{"site": "c", "error": "x"}]


def test_the_failure_list_is_capped_but_the_count_is_not():
    failures = [{"site": f"s{i}", "error": "x"} for i in range(250)]
    summary = rules.summarize([], failures, 1.0, {"connect_ms": 0, "work_ms": 0})
    assert summary["failed"] == 250 and len(summary["failures"]) == rules.MAX_LISTED_FAILURES
