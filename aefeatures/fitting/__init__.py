"""Fitting: the one fit pipeline, its sources of rows, the training loop and its hooks."""
