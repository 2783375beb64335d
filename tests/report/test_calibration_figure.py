"""The calibration scatter's log axes stay legible on a few rows (December 2026: two rows,
mlperf41-70b-h100tp2-server and nim-70b-h100tp2-c1, drew the inter-token-latency axis's
minor labels "1.2x10^-2" to "2.4x10^-2" over each other)."""

import pandas as pd
from helpers.figures import capture_figures

from sim.report import figures
from sim.report.style import pyplot


def _shown_labels(axis):
    """The tick labels matplotlib draws on ``axis``: visible, non-empty, inside the view."""
    lo, hi = sorted(axis.get_view_interval())
    return [t.label1 for t in axis.get_major_ticks() + axis.get_minor_ticks()
            if t.label1.get_visible() and t.label1.get_text() and lo <= t.get_loc() <= hi]


def test_calibration_axes_labels_apart_on_a_few_rows(tmp_path, monkeypatch):
    """Spans of 0.4 decade (latency), about a decade and a half (throughput): on every axis at
    least two labelled ticks, plain numbers, no two labels overlapping."""
    kept = capture_figures(monkeypatch, figures)
    table = pd.DataFrame({"metric": ["output_tok_s", "output_tok_s", "itl_s", "ttft_s"],
                          "published": [3000.0, 20000.0, 0.0150, 0.5],
                          "predicted": [3100.0, 21000.0, 0.0165, 0.55],
                          "gpu": ["H100"] * 4, "role": ["check", "fitted", "fitted", "fitted"]})
    figures.calibration_scatter(table, tmp_path, 0.1)
    fig = kept["calibration"]
    fig.canvas.draw()
    try:
        assert len(fig.axes) == 3
        for ax in fig.axes:
            for axis in (ax.xaxis, ax.yaxis):
                labels = _shown_labels(axis)
                assert len(labels) >= 2, (ax.get_xlabel(), [lab.get_text() for lab in labels])
                boxes = [lab.get_window_extent() for lab in labels]
                clashes = [(labels[i].get_text(), labels[j].get_text())
                           for i in range(len(boxes)) for j in range(i + 1, len(boxes))
                           if boxes[i].overlaps(boxes[j])]
                assert not clashes, (ax.get_xlabel(), clashes)
                for lab in labels:  # plain decimals, never '$\\mathdefault{10^{-2}}$'
                    float(lab.get_text().replace("\N{MINUS SIGN}", "-"))
    finally:
        pyplot().close("all")
