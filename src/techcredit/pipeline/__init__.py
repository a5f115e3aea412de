"""The end-to-end training job and its promotion gates."""
