"""pandera schemas (inferred, read from files, enforced) and drift against the training data."""
