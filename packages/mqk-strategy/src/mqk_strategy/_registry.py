"""Strategy plugins: specs, the ``mqk.strategies`` entry point group, and a registry."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Generic, TypeVar

from pydantic import ValidationError

from mqk_strategy._params import StrategyParams
from mqk_strategy._protocol import Strategy
from mqk_strategy.errors import StrategyParamsError, StrategyPluginError, UnknownStrategyError

__all__ = ["ENTRY_POINT_GROUP", "StrategyRegistry", "StrategySpec"]

ENTRY_POINT_GROUP = "mqk.strategies"
"""The entry point group strategy plugins are declared in."""

P = TypeVar("P", bound=StrategyParams)


def _describe(error: ValidationError, strategy: str, allowed: Iterable[str]) -> str:
    problems: list[str] = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"])
        if not where:  # a rule across parameters (fast < slow): its message says which
            problems.append(str(item["msg"]).removeprefix("Value error, "))
        elif item["type"] == "extra_forbidden":
            problems.append(f"unknown parameter {where!r} (allowed: {', '.join(sorted(allowed))})")
        elif item["type"] == "missing":
            problems.append(f"parameter {where!r} is required")
        else:
            problems.append(f"parameter {where!r}: {item['msg']} (got {item.get('input')!r})")
    return f"strategy {strategy!r}: " + "; ".join(problems)


@dataclass(frozen=True, slots=True)
class StrategySpec(Generic[P]):
    """A named strategy plugin: its parameter model and a factory from validated parameters.

    An ``mqk.strategies`` entry point must load one of these, with ``name`` equal to the
    entry point's name.
    """

    name: str
    params_model: type[P]
    factory: Callable[[P], Strategy]
    summary: str

    def parse_params(self, params: Mapping[str, Any]) -> P:
        """Validate ``params``; unknown names, wrong types and broken rules are refused."""
        if not isinstance(params, Mapping):
            raise StrategyParamsError(
                f"strategy {self.name!r}: parameters must be a mapping, not {type(params).__name__}"
            )
        try:
            return self.params_model.model_validate(dict(params))
        except ValidationError as error:
            raise StrategyParamsError(
                _describe(error, self.name, self.params_model.model_fields)
            ) from None

    def build(self, params: Mapping[str, Any]) -> Strategy:
        """A new strategy instance from raw parameters."""
        return self.factory(self.parse_params(params))


class StrategyRegistry:
    """Strategy specs by name; usually discovered from the ``mqk.strategies`` entry points."""

    __slots__ = ("_specs",)

    def __init__(self, specs: Iterable[StrategySpec[Any]]) -> None:
        self._specs: dict[str, StrategySpec[Any]] = {}
        for spec in specs:
            if not isinstance(spec, StrategySpec):
                raise StrategyPluginError(f"{spec!r} is not a StrategySpec")
            if spec.name in self._specs:
                raise StrategyPluginError(f"two strategies are registered as {spec.name!r}")
            self._specs[spec.name] = spec

    @classmethod
    def discover(cls, group: str = ENTRY_POINT_GROUP) -> StrategyRegistry:
        """Load every spec declared in the entry point ``group``."""
        specs: list[StrategySpec[Any]] = []
        for point in sorted(entry_points(group=group), key=lambda p: p.name):
            try:
                loaded = point.load()
            except Exception as error:
                raise StrategyPluginError(
                    f"entry point {point.name!r} ({point.value}) failed to load: {error}"
                ) from error
            if not isinstance(loaded, StrategySpec):
                raise StrategyPluginError(
                    f"entry point {point.name!r} ({point.value}) is a "
                    f"{type(loaded).__name__}, not a StrategySpec"
                )
            if loaded.name != point.name:
                raise StrategyPluginError(
                    f"entry point {point.name!r} loads the spec named {loaded.name!r}"
                )
            specs.append(loaded)
        return cls(specs)

    @property
    def names(self) -> tuple[str, ...]:
        """Registered names, sorted."""
        return tuple(sorted(self._specs))

    def get(self, name: str) -> StrategySpec[Any]:
        """The spec registered as ``name``."""
        try:
            return self._specs[name]
        except KeyError:
            raise UnknownStrategyError(
                f"no strategy named {name!r} (known: {', '.join(self.names) or 'none'})"
            ) from None

    def build(self, name: str, params: Mapping[str, Any]) -> Strategy:
        """A new instance of strategy ``name`` with validated ``params``."""
        return self.get(name).build(params)
