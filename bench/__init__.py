"""Benchmarks (`make bench`): figures and ratios printed against baselines measured in the same run."""
