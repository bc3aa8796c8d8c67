"""Where the benchmarks find the shared sample data: $RAPID_EDGE_DATA (as the suite reads it), else
../shared/data beside the repository."""
import os
from pathlib import Path

DATA = Path(os.environ.get("RAPID_EDGE_DATA", Path(__file__).resolve().parents[2] / "shared" / "data"))
