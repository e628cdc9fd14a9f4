"""One run folder: its files and their crash-safety (outputs), the progress rows, every random stream a checkpoint saves, and the worker process that evaluates while training goes on."""
