"""Writing a benchmark's result: the JSON, and beside it a PNG drawn with matplotlib (headless)."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path


def write_report(report: dict, out: Path, draw: Callable) -> None:
    """`draw(report, pyplot)` returns the figure saved as out with a .png suffix."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    figure = draw(report, plt)
    figure.tight_layout()
    figure.savefig(out.with_suffix(".png"), dpi=110)
    plt.close(figure)
    print(f"wrote {out} and {out.with_suffix('.png')}")
