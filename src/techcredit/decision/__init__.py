"""Decisions: knock-outs, limit and rate policy, the bundle and the Decider (the serving door).

Import :class:`techcredit.decision.decider.Decider` (bundle directories) or
``techcredit.Decider`` (also registry URIs).
"""
