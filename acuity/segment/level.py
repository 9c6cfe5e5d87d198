"""Anatomical vertebral levels (C1 ... L5, S1) and their ordering."""

from __future__ import annotations

from enum import Enum


class VertebraLevel(str, Enum):
    """A vertebral level, ordered from the skull down (C1 < ... < L5 < S1).

    Only S1, the first sacral segment, is named below L5: the fused sacrum below it is not
    segmented as vertebral bodies. ``VertebraLevel("l3")`` and ``VertebraLevel.parse("L3")``
    both accept any letter case.
    """

    C1 = "C1"
    C2 = "C2"
    C3 = "C3"
    C4 = "C4"
    C5 = "C5"
    C6 = "C6"
    C7 = "C7"
    T1 = "T1"
    T2 = "T2"
    T3 = "T3"
    T4 = "T4"
    T5 = "T5"
    T6 = "T6"
    T7 = "T7"
    T8 = "T8"
    T9 = "T9"
    T10 = "T10"
    T11 = "T11"
    T12 = "T12"
    L1 = "L1"
    L2 = "L2"
    L3 = "L3"
    L4 = "L4"
    L5 = "L5"
    S1 = "S1"

    @classmethod
    def _missing_(cls, value: object) -> VertebraLevel | None:
        if isinstance(value, str):
            key = value.strip().upper()
            for member in cls:
                if member.value == key:
                    return member
        return None

    @classmethod
    def parse(cls, value: VertebraLevel | str) -> VertebraLevel:
        """The level named by ``value`` (``"L3"``, ``"l3"``, a member); a clear error otherwise."""
        if isinstance(value, VertebraLevel):
            return value
        try:
            return cls(value)
        except ValueError:
            names = ", ".join(m.value for m in cls)
            raise ValueError(
                f"vertebral level {value!r} is not one of {names} (write e.g. 'L3' or 'T12')"
            ) from None

    @property
    def rank(self) -> int:
        """Position from the skull: C1 is 0, S1 is 24."""
        return _ORDER[self]

    @property
    def region(self) -> str:
        """``"cervical"``, ``"thoracic"``, ``"lumbar"`` or ``"sacral"``."""
        return {"C": "cervical", "T": "thoracic", "L": "lumbar", "S": "sacral"}[self.value[0]]

    def offset(self, steps: int) -> VertebraLevel | None:
        """The level ``steps`` below (positive) or above (negative); None past C1 or S1."""
        i = self.rank + steps
        return _MEMBERS[i] if 0 <= i < len(_MEMBERS) else None

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, VertebraLevel):
            return NotImplemented
        return self.rank < other.rank

    def __le__(self, other: object) -> bool:
        if not isinstance(other, VertebraLevel):
            return NotImplemented
        return self.rank <= other.rank

    def __gt__(self, other: object) -> bool:
        if not isinstance(other, VertebraLevel):
            return NotImplemented
        return self.rank > other.rank

    def __ge__(self, other: object) -> bool:
        if not isinstance(other, VertebraLevel):
            return NotImplemented
        return self.rank >= other.rank


_MEMBERS: tuple[VertebraLevel, ...] = tuple(VertebraLevel)
_ORDER: dict[VertebraLevel, int] = {m: i for i, m in enumerate(_MEMBERS)}


def level_range(top: VertebraLevel | str, bottom: VertebraLevel | str) -> list[VertebraLevel]:
    """Levels from ``top`` down to ``bottom`` inclusive (``level_range("T11", "L5")``)."""
    a, b = VertebraLevel.parse(top), VertebraLevel.parse(bottom)
    if a > b:
        raise ValueError(f"level range {a.value}..{b.value} runs upwards; give the upper level first")
    return list(_MEMBERS[a.rank : b.rank + 1])
