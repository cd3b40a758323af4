"""Small, rerunnable benchmarks: ``python -m benchmarks.<name>``."""
