"""mqk_config: layered configuration, canonical hash and secret detection."""

__version__ = "0.1.0"

__all__: list[str] = []
