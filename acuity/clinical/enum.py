"""Fixed sets of values of the clinical criteria and candidacy verdicts."""

from __future__ import annotations

from enum import Enum


class Verdict(str, Enum):
    """Candidacy of one level, as decision support (never a treatment order)."""

    #: Every criterion of the profile is met on the data given and nothing argues against.
    CANDIDATE = "candidate"
    #: A criterion is not met or an absolute contraindication is present.
    NOT_CANDIDATE = "not_candidate"
    #: Data missing or undetermined, or a relative contraindication for the clinician to weigh.
    NEEDS_REVIEW = "needs_review"

    @property
    def severity(self) -> int:
        """Order of precedence when reasons disagree: not_candidate > needs_review > candidate."""
        return _SEVERITY[self]


_SEVERITY = {Verdict.CANDIDATE: 0, Verdict.NEEDS_REVIEW: 1, Verdict.NOT_CANDIDATE: 2}


class RuleKind(str, Enum):
    """What a rule of a guideline profile is."""

    #: Must hold for a candidate; not met -> not_candidate.
    INDICATION = "indication"
    #: Present -> not_candidate.
    ABSOLUTE_CONTRAINDICATION = "absolute_contraindication"
    #: Present -> needs_review (the clinician weighs it).
    RELATIVE_CONTRAINDICATION = "relative_contraindication"
    #: Raised for the clinician's attention; does not change the verdict.
    FLAG = "flag"


class RuleResult(str, Enum):
    """Outcome of one rule's condition on the data given (three-valued)."""

    MET = "met"
    NOT_MET = "not_met"
    #: A value the condition needs is missing or undetermined.
    UNKNOWN = "unknown"


class Etiology(str, Enum):
    """Cause of the fracture, as the clinician records it."""

    OSTEOPOROTIC = "osteoporotic"
    MALIGNANT = "malignant"
    TRAUMATIC = "traumatic"
    #: Given, but not known: conditions on the etiology cannot be decided.
    UNKNOWN = "unknown"


class Flag(str, Enum):
    """Patient-level flags a ``flag`` rule may raise (``flag:`` key of the rule)."""

    MALIGNANCY_SUSPICION = "malignancy_suspicion"
    #: Any other attention flag.
    ATTENTION = "attention"


class FactKind(str, Enum):
    """Type of a value conditions can test."""

    NUMBER = "number"
    BOOLEAN = "boolean"
    #: A vertebral level (ordered C1 < ... < S1).
    LEVEL = "level"
    #: One of a fixed set of strings.
    CHOICE = "choice"


class Operator(str, Enum):
    """Operators of a condition ``{field: NAME, op: OP, value: V}``."""

    EQ = "eq"
    NE = "ne"
    LT = "lt"
    LE = "le"
    GT = "gt"
    GE = "ge"
    #: ``value: [low, high]``, both inclusive.
    BETWEEN = "between"
    #: ``value: [a, b, ...]``.
    IN = "in"
    NOT_IN = "not_in"
