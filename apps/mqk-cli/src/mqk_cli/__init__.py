"""mqk_cli: the ``mqk-cli`` command line. Commands parse, call a package, and print."""

from mqk_cli.main import cli

__version__ = "0.1.0"

__all__ = ["cli"]
