"""Explanations: reason codes from log-odds contributions, one way for every model."""
