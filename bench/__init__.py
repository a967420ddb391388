"""Benchmarks (``make bench``): each module measures and prints one line per figure; none
asserts. Run one with ``python -m bench.<module>``."""
