"""mqk_strategy: strategy protocol, host, shadow mode and builtins."""

__version__ = "0.1.0"

__all__: list[str] = []
