"""mqk_execution: order intents, OMS, execution gateway, broker protocol and SimBroker."""

__version__ = "0.1.0"

__all__: list[str] = []
