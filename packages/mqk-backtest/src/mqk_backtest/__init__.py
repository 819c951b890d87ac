"""mqk_backtest: event-sourced deterministic backtester."""

__version__ = "0.1.0"

__all__: list[str] = []
