"""The HTTP benchmarks' layouts: who gets F1 on each side, and what the report line says."""

from types import SimpleNamespace

from benchmarks.__main__ import line, summarize
from benchmarks.suite import BENCHES, Sample, http_sample, http_sides


class _Server:
    """Answers ``POST /api/fanout`` as F1 would, taking ``seconds``; counts its calls."""

    def __init__(self, seconds: float) -> None:
        self.seconds, self.calls = seconds, 0

    def request(self, method, path, json, timeout):
        self.calls += 1
        return SimpleNamespace(status_code=200, json=lambda: {"fanout_ms": self.seconds * 1000})

    def cpu_seconds(self) -> float:
        return 0.0


def _bench(name):
    return next(b for b in BENCHES if b.name == name)


def _sides(name):
    host = SimpleNamespace(process=SimpleNamespace(pid=1), request=_Server(1.2).request)
    server, host_client, bare_client = _Server(1.2), _Server(1.15), _Server(1.1)
    return http_sides(_bench(name), host, server, host_client, bare_client), (
        host, server, host_client, bare_client)


def test_each_layout_compares_like_with_like_or_says_it_is_across():
    sides, (host, server, host_client, bare_client) = _sides("http_f1f2")
    assert (sides.host, sides.bare, sides.floor) == (host, server, None)
    sides, (host, server, host_client, bare_client) = _sides("http_f1f2_client")
    assert (sides.host, sides.bare, sides.floor) == (host_client, bare_client, None)
    sides, (host, server, host_client, bare_client) = _sides("http_f1f2_split")
    assert (sides.host, sides.bare, sides.floor) == (host, bare_client, server)


def test_the_across_line_shows_the_layouts_own_cost_and_claims_no_target():
    bench = _bench("http_f1f2_split")
    sides, (_, server, _, bare_client) = _sides("http_f1f2_split")
    sides.host_cpu = lambda: 0.0
    samples = [http_sample(sides, bench, host_first=i % 2 == 0) for i in range(3)]
    assert server.calls == 3 and bare_client.calls == 3  # the floor runs in every pair
    result = summarize(bench, samples)
    assert result["floor_s"] > 0
    text = line(bench, result)
    assert "bare in 1 process" in text and "= " in text
    assert "ok" not in text.split("[")[0] and "MISSED" not in text  # no target, no verdict


def test_a_same_layout_line_keeps_its_target():
    bench = _bench("http_f1f2")
    result = summarize(bench, [Sample(1.3, 1.0), Sample(1.3, 1.0)])
    assert "<= 1.10x" in line(bench, result) and "MISSED" in line(bench, result)
    result = summarize(bench, [Sample(1.05, 1.0)])
    assert line(bench, result).split("[")[0].rstrip().endswith("ok")
