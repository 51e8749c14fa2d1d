"""Noise monitoring for the dashboard: the `noise` feed (feed.py), the `noise_level` panel type (panel.py) and the
`noise_threshold` rule kind (rule.py), registered through the entry points of pyproject.toml.

Nothing is imported here: each entry point loads its own module, so a process loads only what it registers.
"""
