"""mqk_risk: risk engine, kill switches and PDT."""

__version__ = "0.1.0"

__all__: list[str] = []
