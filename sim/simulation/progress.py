"""A progress bar over simulated time, shown only on a terminal for runs that last."""

from __future__ import annotations

import sys


def progress_printer(enabled: bool, label: str, total_s: float | None = None, stream=None,
                     delay_s: float = 2.0, min_interval_s: float = 0.2):
    """A bar over simulated time for one setup's run: ``(update(now, cap), close())``.

    It shows only on a terminal and only once the run has lasted ``delay_s`` of wall time, so
    short runs, pipes, CI logs and parallel sweep jobs stay quiet. The bar covers the arrival
    horizon ``total_s`` (else the cap it is given); past it the run is draining the requests
    still in flight, which the bar says instead of overshooting.
    """
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    if not enabled or isatty is None or not isatty():
        return None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=1000, desc=label, leave=False, file=stream, delay=delay_s,
               mininterval=min_interval_s, miniters=1,
               bar_format="{desc} {percentage:3.0f}%|{bar}| [{elapsed}<{remaining}]")

    def update(now: float, cap: float) -> None:
        total = total_s if total_s else cap
        frac = min(now / total, 1.0) if total > 0 else 1.0
        bar.set_description_str(f"{label}: sim {now:,.0f}/{total:,.0f} s"
                                + (" draining" if now > total else ""), refresh=False)
        bar.update(int(1000 * frac) - bar.n)

    return update, bar.close


def count_printer(enabled: bool, label: str, total: int, stream=None, delay_s: float = 2.0):
    """A bar over ``total`` steps (replications, variants): ``(update(done), close())``, shown
    like :func:`progress_printer` only on a terminal once the work has lasted ``delay_s``."""
    stream = sys.stderr if stream is None else stream
    isatty = getattr(stream, "isatty", None)
    if not enabled or isatty is None or not isatty():
        return lambda done: None, lambda: None
    from tqdm import tqdm

    bar = tqdm(total=total, desc=label, leave=False, file=stream, delay=delay_s)

    def update(done: int) -> None:
        bar.update(done - bar.n)

    return update, bar.close
