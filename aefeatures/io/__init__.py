"""Data in and out: reading Parquet paths and frames, and writing outputs atomically."""
