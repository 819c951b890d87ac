"""The readable rendering shows every setting, the layers and the hash."""

from __future__ import annotations

from pathlib import Path

from mqk_config import load_config, render_config_text, required_paths


def unit_rendering_lists_layers_every_setting_and_the_hash(shipped_config: Path) -> None:
    config = load_config(shipped_config, engine="EXP", stress=["latency_high"])
    text = render_config_text(config)
    lines = text.splitlines()
    assert lines[:3] == ["# engine: EXP", "# env: dev", "# stress: latency_high"]
    assert lines[-1] == f"config_hash: {config.config_hash}"
    for layer in config.layers:
        assert f"#   {layer.kind}: {layer.source}" in lines
    for path in required_paths():
        depth = len(path) - 1
        assert any(line.startswith("  " * depth + f"{path[-1]}:") for line in lines), path
    assert "  allocation_cap: 0.2" in lines
    assert '  phrase_template: "ARM LIVE {last4} {daily_loss_limit}"' in lines
    assert '    - name: "sma_cross"' in lines
    assert "    submit: 2" in lines
