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
