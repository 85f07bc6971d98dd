"""Benchmarks (not tests): each module prints a table and can write JSON; see docs/benchmarks.md."""
