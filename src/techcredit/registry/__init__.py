"""The model registry: the only package that imports mlflow."""
