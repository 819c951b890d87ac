"""The allocation guard's input check with its fast path for exact Decimals (returned as they
are) against the previous conversion of every value through ``to_decimal``: the same value
(the very object for a Decimal, exponent included) or the same error and message."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from mqk_isolation import AllocationInputError
from mqk_isolation._caps import _exact
from mqk_schemas import SchemaError, to_decimal


class SubDecimal(Decimal):
    """A Decimal subclass: the fast path leaves it to ``to_decimal``."""


def reference_exact(value: Any, name: str) -> Decimal:
    """``_exact`` as it was: every value through ``to_decimal``."""
    try:
        return to_decimal(value)
    except SchemaError as exc:
        raise AllocationInputError(f"{name}: {exc}") from None


def _outcome(check: Any, value: Any) -> tuple[str, Any]:
    try:
        result = check(value, "reference_price")
    except AllocationInputError as error:
        return "error", str(error)
    return "value", (type(result), repr(result), result is value)


values = st.one_of(
    st.decimals(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=False, allow_infinity=False).map(SubDecimal),
    st.sampled_from(
        [Decimal("sNaN"), Decimal("-0"), Decimal("0E-8"), Decimal("1E+3"), Decimal("-Infinity")]
    ),
    st.integers(),
    st.booleans(),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.sampled_from(["1.50", " 2 ", "NaN", "abc", None, object()]),
)


@settings(max_examples=500, deadline=None)
@given(values)
def invariant_exact_equals_the_to_decimal_conversion(value: Any) -> None:
    assert _outcome(_exact, value) == _outcome(reference_exact, value)
