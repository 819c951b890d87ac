"""Which layer set a key: used to name the file in every validation message."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mqk_config._merge import KeyPath, lookup_path

__all__ = ["LayerData", "layer_of"]


@dataclass(frozen=True, slots=True)
class LayerData:
    """One parsed layer: where it came from and its plain data."""

    source: str
    data: Mapping[str, Any]


def layer_of(layers: Sequence[LayerData], path: KeyPath) -> str:
    """The source of the layer whose value is in force at ``path`` (or at its nearest parent).

    Because later layers win and lists are replaced whole, the value in force at a path is the
    one of the LAST layer that holds that full path. A path no layer holds (a missing setting)
    is attributed to the default layer, which must define every setting.
    """
    for depth in range(len(path), 0, -1):
        prefix = path[:depth]
        for layer in reversed(layers):
            found, _ = lookup_path(layer.data, prefix)
            if found:
                return layer.source
    return layers[0].source
