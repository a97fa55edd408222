"""raylake: a self-hosted, multi-tenant machine-learning platform on Ray."""

__version__ = "0.1.0"
