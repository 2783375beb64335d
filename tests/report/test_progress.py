"""The progress bar: over simulated time, on a terminal only, only for runs that last."""

import io

from sim.simulation.progress import progress_printer


class FakeTerminal(io.StringIO):
    def isatty(self):
        return True


def test_bar_follows_simulated_time_then_says_draining():
    out = FakeTerminal()
    update, close = progress_printer(True, "dedicated", total_s=100.0, stream=out, delay_s=0,
                                     min_interval_s=0)
    update(50.0, 1900.0)
    assert "50%" in out.getvalue() and "sim 50/100 s" in out.getvalue()
    update(150.0, 1900.0)  # past the horizon: requests in flight drain
    text = out.getvalue()
    assert "100%" in text and "draining" in text and "dedicated" in text
    close()


def test_quiet_when_not_a_terminal_or_disabled():
    pipe = io.StringIO()
    update, close = progress_printer(True, "x", total_s=10.0, stream=pipe, delay_s=0)
    assert update is None
    close()
    update, _ = progress_printer(False, "x", total_s=10.0, stream=FakeTerminal(), delay_s=0)
    assert update is None
    assert pipe.getvalue() == ""


def test_short_runs_stay_quiet():
    out = FakeTerminal()
    update, close = progress_printer(True, "x", total_s=10.0, stream=out, delay_s=60.0)
    for t in range(11):
        update(float(t), 100.0)
    close()
    assert out.getvalue() == ""  # finished before the delay: no bar was ever drawn
