"""Exploration: compare kinds and sizes against PCA, the demo, ranking metrics."""
