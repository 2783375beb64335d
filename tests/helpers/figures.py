"""What every written figure must be: a real PNG of some size, not blank, or an SVG."""

from __future__ import annotations

from pathlib import Path

import numpy as np

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def assert_figure(path: Path):
    data = path.read_bytes()
    if path.suffix == ".png":
        assert data.startswith(PNG_MAGIC)
        import matplotlib.image as mpimg

        img = mpimg.imread(path)
        assert img.shape[0] > 200 and img.shape[1] > 300
        assert float(np.std(img[..., :3])) > 0.01  # not a blank canvas
    else:
        assert b"<svg" in data[:2000] and len(data) > 5000


def legends_on_axes(fig) -> list[str]:
    """Every legend (of an axes or of the figure) whose box overlaps a visible axes' box, as
    text: an empty list when every legend sits off the plotting areas."""
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    axes = [a for a in fig.axes if a.get_visible()]
    legends = [a.get_legend() for a in axes if a.get_legend() is not None] + list(fig.legends)
    out = []
    for leg in legends:
        box = leg.get_window_extent(renderer)
        for i, a in enumerate(axes):
            if box.overlaps(a.get_window_extent(renderer)):
                labels = [t.get_text() for t in leg.get_texts()][:2]
                out.append(f"legend {labels} over axes {i} ({a.get_title() or a.get_ylabel()})")
    return out


def capture_figures(monkeypatch, module) -> dict:
    """Keep every figure ``module`` saves (stem -> figure), still saving it: a test inspects
    what was drawn, not only the file."""
    figs: dict = {}
    real = module.save

    def keep(fig, out_dir, stem):
        from matplotlib.backends.backend_agg import FigureCanvasAgg

        figs[stem] = fig
        files = real(fig, out_dir, stem)
        FigureCanvasAgg(fig)  # closing it dropped its canvas: a new one to draw it again
        return files

    monkeypatch.setattr(module, "save", keep)
    return figs


def plotted_xy(ax):
    """Every line's and scatter collection's (x, y) points of an axes, as one (n, 2) array."""
    parts = [np.column_stack([np.asarray(ln.get_xdata(), float), np.asarray(ln.get_ydata(), float)])
             for ln in ax.get_lines() if len(ln.get_xdata())]
    parts += [np.asarray(c.get_offsets(), float) for c in ax.collections
              if len(c.get_offsets())]
    return np.vstack(parts) if parts else np.empty((0, 2))
