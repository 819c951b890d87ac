"""Arm tokens: the proof, handed to every submit, that the run is ARMED or RUNNING.

The run lifecycle owns an :class:`ArmAuthority` for its run and engine. ``arm()`` mints a token,
``disarm()`` revokes it. The gateway holds only the authority's :class:`ArmVerifier`, which can
check a token but never mint one. A token verifies only if it is *the very object* the authority
minted last and has not revoked, so a token cannot be forged, copied from another run, or reused
after a halt.
"""

from __future__ import annotations

import uuid

from mqk_schemas import Action, Decision

__all__ = ["NOT_ARMED", "ArmAuthority", "ArmToken", "ArmVerifier"]

_ARMED = Decision.allow("ARMED")  # frozen: one instance serves every check

NOT_ARMED = "NOT_ARMED"


class ArmToken:
    """An opaque capability meaning "this run may execute"; only an authority hands them out."""

    __slots__ = ("_epoch", "engine_id", "run_id")

    def __init__(self, run_id: uuid.UUID, engine_id: str, epoch: int) -> None:
        self.run_id = run_id
        self.engine_id = engine_id
        self._epoch = epoch

    def __repr__(self) -> str:
        return f"ArmToken(run_id={self.run_id}, engine_id={self.engine_id}, epoch={self._epoch})"


class ArmAuthority:
    """Mints and revokes the arm token of one run of one engine (held by the lifecycle only)."""

    def __init__(self, run_id: uuid.UUID, engine_id: str) -> None:
        self.run_id = run_id
        self.engine_id = engine_id
        self._epoch = 0
        self._active: ArmToken | None = None
        self._verifier = ArmVerifier(self)

    def arm(self) -> ArmToken:
        """Mint a new token (ARMED/RUNNING); any earlier token is revoked."""
        self._epoch += 1
        self._active = ArmToken(self.run_id, self.engine_id, self._epoch)
        return self._active

    def disarm(self) -> None:
        """Revoke the current token (HALTED, STOPPED, restart): nothing may execute."""
        self._active = None

    @property
    def armed(self) -> bool:
        """True while a token is outstanding."""
        return self._active is not None

    @property
    def verifier(self) -> ArmVerifier:
        """The check-only view handed to the gateway."""
        return self._verifier

    def _is_active(self, token: ArmToken) -> bool:
        return token is self._active


class ArmVerifier:
    """Checks tokens against one authority; cannot mint."""

    __slots__ = ("_authority",)

    def __init__(self, authority: ArmAuthority) -> None:
        self._authority = authority

    @property
    def run_id(self) -> uuid.UUID:
        """The run whose tokens this verifier accepts."""
        return self._authority.run_id

    @property
    def engine_id(self) -> str:
        """The engine whose tokens this verifier accepts."""
        return self._authority.engine_id

    def verify(self, token: object) -> Decision:
        """ALLOW for the authority's live token, otherwise a NOT_ARMED refusal with the cause."""
        if token is None:
            cause = "no arm token was presented"
        elif not isinstance(token, ArmToken):
            cause = f"{type(token).__name__} is not an arm token"
        elif self._authority._is_active(token):
            return _ARMED
        elif token.run_id != self.run_id or token.engine_id != self.engine_id:
            cause = "the token belongs to another run or engine"
        else:
            cause = "the token was revoked or was not minted by this run's authority"
        return Decision(
            action=Action.REJECT,
            reason_code=NOT_ARMED,
            message=f"refused: run not armed ({cause})",
            evidence={
                "cause": cause,
                "run_id": str(self.run_id),
                "engine_id": self.engine_id,
                "authority_armed": self._authority.armed,
            },
        )
