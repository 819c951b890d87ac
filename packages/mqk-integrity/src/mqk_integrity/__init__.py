"""mqk_integrity: bar and feed integrity gate."""

__version__ = "0.1.0"

__all__: list[str] = []
