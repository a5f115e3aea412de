"""Monitoring: PSI/CSI drift, post-loan early warnings, IP-pledge events."""
