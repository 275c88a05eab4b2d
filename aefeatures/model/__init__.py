"""The fitted model, its scoring and calibration, and its files on disk."""
