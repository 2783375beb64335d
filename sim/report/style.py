"""How every figure looks: one colour per setup, the file-only matplotlib backend, one
fixed style whatever the process set, and how figures are saved (``plots/<stem>.png`` and
``.svg``, no date or version inside: the same run gives the same bytes)."""

from __future__ import annotations

import sys
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from sim.analysis.curves import TIE_RTOL

# one colour per setup wherever it appears (colour-blind safe "Dark2" hues); a setup not
# listed gets the grey
SETUP_COLORS = {"serverless": "#d95f02", "dedicated": "#1b9e77", "hybrid": "#7570b3"}
OTHER_COLOR = "#666666"
REFERENCE_COLOR = "#444444"


def color(setup: str) -> str:
    """A setup's colour; a variant labelled ``<setup>/<variant>`` takes its setup's."""
    s = str(setup)
    return SETUP_COLORS.get(s) or SETUP_COLORS.get(s.split("/")[0], OTHER_COLOR)


# for labels sharing a setup's colour in one figure (variants of one setup): Dark2's other
# hues, then greys
EXTRA_COLORS = ["#e7298a", "#66a61e", "#e6ab02", "#a6761d", "#1f78b4", "#b15928", "#999999",
                "#333333"]


def distinct_colors(labels) -> dict[str, str]:
    """A colour per label, each different: a label keeps its setup's colour unless an earlier
    label has it, then takes the next unused of :data:`EXTRA_COLORS` (cycling beyond them)."""
    out: dict[str, str] = {}
    for k, label in enumerate(dict.fromkeys(map(str, labels))):
        c = color(label)
        if c in out.values():
            free = [x for x in EXTRA_COLORS if x not in out.values()]
            c = free[0] if free else EXTRA_COLORS[k % len(EXTRA_COLORS)]
        out[label] = c
    return out


# servesim's settings on top of matplotlib's defaults (reproducible SVG ids, open axes)
STYLE = {"svg.hashsalt": "servesim", "axes.spines.top": False, "axes.spines.right": False}


def pyplot():
    """matplotlib's pyplot on the file-only backend, set to matplotlib's defaults plus
    :data:`STYLE`: a ``matplotlibrc`` (in the working directory, ``MPLCONFIGDIR`` or the
    user's config folder), the calling program's settings or an earlier figure of the
    process change no figure (they did: a study's figure kept or lost its top and right
    axes lines depending on whether another figure had been drawn before it)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    matplotlib.rcdefaults()
    plt.rcParams.update(STYLE)
    return plt


@contextmanager
def kept_settings():
    """The process's matplotlib settings as they were before the block, after it (the Python
    API draws its figures with :func:`pyplot`, which resets them)."""
    before = sys.modules.get("matplotlib")
    saved = dict(before.rcParams) if before is not None else None
    try:
        yield
    finally:
        mpl = sys.modules.get("matplotlib")
        if mpl is not None:
            # not imported before: as a fresh import would set them (its matplotlibrc)
            back = saved if saved is not None else dict(mpl.rcParamsOrig)
            back.pop("backend", None)
            dict.update(mpl.rcParams, back)


def tight_layout(fig, **kw) -> None:
    """``fig.tight_layout(**kw)``; when the decorations cannot fit (a legend outside the axes
    wider or taller than the figure: matplotlib leaves the layout unapplied and warns on
    stderr), the axes are laid out without the legends, which stay where they are anchored:
    :func:`save` writes the figure's tight box, legends included."""
    import warnings

    from matplotlib.legend import Legend

    with warnings.catch_warnings():
        warnings.filterwarnings("error", message="Tight layout not applied")
        try:
            fig.tight_layout(**kw)
            return
        except UserWarning:  # raised before anything was changed
            pass
    legends = [a for a in fig.findobj(Legend) if a.get_in_layout()]
    for leg in legends:
        leg.set_in_layout(False)
    try:
        fig.tight_layout(**kw)
    finally:
        for leg in legends:
            leg.set_in_layout(True)


METADATA = {"png": {"Software": None}, "svg": {"Date": None, "Creator": None}}


def save(fig, out_dir: Path, stem: str) -> list[str]:
    """Write ``plots/<stem>.png`` and ``.svg``; return their paths relative to ``out_dir``."""
    plt = pyplot()
    out_dir = Path(out_dir)
    (out_dir / "plots").mkdir(parents=True, exist_ok=True)
    files = []
    for ext in ("png", "svg"):
        p = out_dir / "plots" / f"{stem}.{ext}"
        # no date, no matplotlib version: the bytes depend on the figure only
        fig.savefig(p, dpi=150, bbox_inches="tight", metadata=METADATA[ext])
        files.append(f"plots/{stem}.{ext}")
    plt.close(fig)
    return files


def legend_below(ax, ncol: int = 1, fontsize: float = 7, **kw):
    """The axes' legend under its x-axis label, outside the axes: it never covers the data.
    Anchored a fixed distance below the axes (room for tick labels and the axis label)."""
    from matplotlib.transforms import ScaledTranslation

    if not ax.get_legend_handles_labels()[0]:
        return None
    below = ax.transAxes + ScaledTranslation(0.0, -0.6, ax.figure.dpi_scale_trans)
    return ax.legend(fontsize=fontsize, loc="upper left", bbox_to_anchor=(0.0, 0.0),
                     bbox_transform=below, ncol=ncol, frameon=False, borderaxespad=0.0, **kw)


def legend_right(ax, fontsize: float = 7, **kw):
    """The axes' legend to the right of the axes, outside them: it never covers the data."""
    if not ax.get_legend_handles_labels()[0]:
        return None
    return ax.legend(fontsize=fontsize, loc="upper left", bbox_to_anchor=(1.01, 1.0),
                     frameon=False, borderaxespad=0.0, **kw)


def format_seconds(v: float) -> str:
    return f"{v * 1000:.0f} ms" if v < 1 else f"{v:.2f} s"


def plain_log_ticks(axis) -> None:
    """Label a log-scaled axis (``ax.xaxis`` or ``ax.yaxis``, its data drawn) with plain
    numbers, at 1, 2 and 5 per decade when it spans two decades or less, else at each
    decade, and at up to four round values when it spans less than half a decade; minor
    ticks unlabelled. Matplotlib's defaults wrote dollars as "6x10^0" and, on
    an axis spanning about a decade, labelled minor ticks ("3x10^-1", "4x10^-1") on top of
    each other."""
    import math

    from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter

    lo, hi = sorted(axis.axes.get_xlim() if axis is axis.axes.xaxis else axis.axes.get_ylim())
    span = math.log10(hi / lo) if lo > 0 else math.inf
    if span < 0.5:  # under half a decade: 1, 2 and 5 may all fall outside (26-28 s: none)
        axis.set_major_locator(MaxNLocator(nbins=4))
    else:
        axis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0) if span <= 2.0 else (1.0,)))
    axis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    axis.set_minor_formatter(NullFormatter())


def bars_caption(table, y: str) -> str:
    """What a sweep figure's error bars on ``y`` are, for its title ('' when it has none)."""
    import pandas as pd

    if f"{y}_ci95" not in table.columns or not table[f"{y}_ci95"].notna().any():
        return ""
    n = pd.to_numeric(table.get("replications", pd.Series(dtype=float)), errors="coerce")
    return f"\nmeans over {seeds_text(n)}; bars: 95 % interval of the mean"


def seeds_text(n) -> str:
    """'3 seeds' when every job ran that many, else '1 to 3 seeds' (``n``: the
    ``replications`` column; a job without one ran one seed: until December 2026 a sweep of
    replications=1,2 said every job ran 2)."""
    n = n.fillna(1)
    lo, hi = int(n.min()), int(n.max())
    return f"{hi} seeds" if lo == hi else f"{lo} to {hi} seeds"


def place_labels(fig, texts, step_pt: float = 9.0, tries: int = 30) -> None:
    """Move each annotation up (in steps of ``step_pt`` points) until its box overlaps none
    placed before it: labels of neighbouring points stay readable."""
    renderer = fig.canvas.get_renderer()
    placed = []
    for t in texts:
        for _ in range(tries):
            box = t.get_window_extent(renderer)
            if not any(box.overlaps(p) for p in placed):
                break
            dx, dy = t.xyann
            t.xyann = (dx, dy + step_pt)
        placed.append(t.get_window_extent(renderer))


def same_curve(x, y, drawn) -> str | None:
    """The label of an already drawn curve with the same values (within the tie tolerance);
    ``drawn``: (x, y, label, is a twin) of each curve so far."""
    for xs, ys, label, twin in drawn:
        if twin:
            continue
        if len(xs) == len(x) and np.allclose(xs, x) and np.allclose(ys, y, rtol=TIE_RTOL, atol=0.0,
                                                                     equal_nan=True):
            return label
    return None


def twin_style(k: int) -> dict:
    """The k-th curve drawn over an equal one: dashed, hollow, each larger and of another
    shape than the twins before it, so every one of them shows."""
    return dict(ls=(0, (3, 3)), marker="osD^"[k % 4], ms=7 + 3 * k, mfc="none", lw=1.2,
                zorder=3)
