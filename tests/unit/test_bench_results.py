"""benchmarks/bench_scale.py rewrites its own section of benchmarks/RESULTS.md, nothing else."""

from __future__ import annotations

import importlib.util
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_scale.py"


def _bench():
    spec = importlib.util.spec_from_file_location("bench_scale", BENCH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_figures_replace_their_section_and_keep_the_reading_and_other_sections(tmp_path):
    bench = _bench()
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\nWhat the figures say: read by hand.\n\n"
                       f"{bench.SECTION}\n\n| old table |\n\n## Issue 13\n\nscale-out figures\n")
    bench.write_section(results, bench.SECTION, "| new table |\n")
    assert results.read_text() == ("# Benchmark results\n\nWhat the figures say: read by hand.\n\n"
                                   f"{bench.SECTION}\n\n| new table |\n\n## Issue 13\n\n"
                                   "scale-out figures\n")
    bench.write_section(results, bench.SECTION, "| newer |")  # idempotent in shape
    assert "| new table |" not in results.read_text()
    assert results.read_text().count(bench.SECTION) == 1
    assert results.read_text().endswith("## Issue 13\n\nscale-out figures\n")


def test_a_file_without_the_section_gets_it_at_its_end(tmp_path):
    bench = _bench()
    results = tmp_path / "RESULTS.md"
    bench.write_section(results, bench.SECTION, "| table |")
    assert results.read_text() == f"# Benchmark results\n\n{bench.SECTION}\n\n| table |\n"
    results.write_text("# Benchmark results\n\n## Issue 13\n\nfigures\n")
    bench.write_section(results, bench.SECTION, "| table |")
    assert results.read_text() == ("# Benchmark results\n\n## Issue 13\n\nfigures\n\n"
                                   f"{bench.SECTION}\n\n| table |\n")
