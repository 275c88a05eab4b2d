"""Integrations: scikit-learn, Spark, polars namespaces, ONNX."""
