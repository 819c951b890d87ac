"""mqk_portfolio: fill-driven FIFO ledger, equity and exposure."""

__version__ = "0.1.0"

__all__: list[str] = []
