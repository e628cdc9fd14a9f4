"""Speed benchmarks of the training loop."""
