"""Benchmarks: each module runs with `python -m bench.<module>`, prints a table and writes
its figures to bench/results/<name>.json. They measure; they never assert on timings."""
