"""The model's self-contained HTML report."""
