"""package_versions: the installed mqk-* distributions and key libraries, as metadata has them."""

from __future__ import annotations

from importlib import metadata

from mqk_backtest.fingerprint import package_versions


def contract_versions_are_those_of_every_installed_mqk_distribution() -> None:
    installed = {
        d.metadata["Name"]: d.version
        for d in metadata.distributions()
        if (d.metadata["Name"] or "").startswith("mqk-")
    }
    versions = package_versions()

    assert {k: v for k, v in versions.items() if k.startswith("mqk-")} == installed
    assert "mqk-backtest" in installed
    assert list(versions)[: len(installed)] == sorted(installed)
    assert versions["polars"] == metadata.version("polars")
    assert versions["numpy"] == metadata.version("numpy")
    assert versions["pydantic"] == metadata.version("pydantic")
