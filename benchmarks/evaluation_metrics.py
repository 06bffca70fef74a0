"""Benchmark of ``airshower evaluate``: metrics of synthetic predictions (all targets, 5 primaries, bootstrap).

Run: ``.venv/bin/python benchmarks/evaluation_metrics.py [events ...]``. Prints, per size, the
seconds to write and read the predictions file and to compute the metrics with the default
``evaluation`` section (6 energy bins, 200 bootstrap resamples), and the machine.
"""

from __future__ import annotations

import os
import platform
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repository root: tests.kit
from airshower.config import validate_config  # noqa: E402
from airshower.evaluation.metrics import compute_metrics  # noqa: E402
from airshower.evaluation.prediction_file import read_predictions  # noqa: E402

from tests.kit.predictions import write_synthetic  # noqa: E402


def main(sizes: list[int]) -> None:
    evaluation = validate_config({}, partial=True)["evaluation"]
    print(f"machine: {platform.machine()} {platform.processor() or ''}, {os.cpu_count()} cores, "
          f"python {platform.python_version()}, load average {os.getloadavg()[0]:.1f} (other work on the machine)")
    print(f"evaluation: {evaluation}")
    print(f"{'events':>9} {'write [s]':>10} {'read [s]':>9} {'metrics [s]':>12} {'events/s':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for n in sizes:
            path = Path(tmp) / f"{n}.h5"
            t0 = time.perf_counter()
            write_synthetic(path, n, seed=1)
            t1 = time.perf_counter()
            pred = read_predictions(path)
            t2 = time.perf_counter()
            compute_metrics(pred, evaluation)
            t3 = time.perf_counter()
            print(f"{n:>9} {t1 - t0:>10.2f} {t2 - t1:>9.2f} {t3 - t2:>12.2f} {n / (t3 - t2):>10.0f}")


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000])
