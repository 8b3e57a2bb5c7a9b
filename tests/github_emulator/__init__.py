"""A local GitHub REST emulator for the tests and benchmarks."""
