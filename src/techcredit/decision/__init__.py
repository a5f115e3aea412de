"""Decisions: knock-outs, limit and rate policy, the bundle and the Decider (the serving door)."""
