"""mqk_isolation: per-engine allocation caps, engine-scoped state and key scoping."""

__version__ = "0.1.0"

__all__: list[str] = []
