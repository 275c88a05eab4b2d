"""Transform of Parquet data in bounded memory, scored on worker threads."""
