"""experiment/progress.py: one line per point in logs, an in-place bar on a terminal."""

import io

from experiment.progress import Progress


class Terminal(io.StringIO):
    def isatty(self):
        return True


def test_one_line_per_point_when_not_a_terminal():
    stream = io.StringIO()
    bar = Progress(2, stream=stream, width=4)
    bar.start(0, "http N=1")
    bar.start(1, "http N=10")
    bar.close(2)
    lines = stream.getvalue().splitlines()
    assert [line.split("  (")[0] for line in lines] == [
        "[....] 1/2 http N=1",
        "[##..] 2/2 http N=10",
    ]


def test_on_a_terminal_the_bar_is_redrawn_and_closed_with_the_points_done():
    stream = Terminal()
    bar = Progress(4, stream=stream, width=4)
    bar.start(0, "a")
    bar.start(1, "b")
    bar.close(1)
    out = stream.getvalue()
    assert out.count("\r") == 3 and out.endswith("\n")
    assert "[#...] 1/4 points in" in out
