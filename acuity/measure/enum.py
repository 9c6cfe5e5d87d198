"""Fixed sets of values of per-level findings."""

from __future__ import annotations

from enum import Enum, IntEnum


class DeformityType(str, Enum):
    """Shape of a vertebral compression deformity (Genant)."""

    NONE = "none"
    #: Anterior height reduced.
    WEDGE = "wedge"
    #: Middle height reduced (both endplates depressed).
    BICONCAVE = "biconcave"
    #: All heights reduced.
    CRUSH = "crush"


class GenantGrade(IntEnum):
    """Genant semiquantitative grade from the height loss."""

    NORMAL = 0  # < 20 %
    MILD = 1  # 20-25 %
    MODERATE = 2  # 25-40 %
    SEVERE = 3  # >= 40 %


class EdemaPattern(str, Enum):
    """Distribution of bone-marrow edema in a body."""

    NONE = "none"
    #: A band under the fractured endplate(s).
    BAND = "band"
    #: The whole body.
    DIFFUSE = "diffuse"


class PosteriorWall(str, Enum):
    """State of the posterior cortex of the vertebral body."""

    INTACT = "intact"
    #: Posterior cortex displaced into the canal beyond the tolerance (retropulsion).
    RETROPULSED = "retropulsed"
    INDETERMINATE = "indeterminate"


class Acuity(str, Enum):
    """Acuity of a level."""

    #: Fracture with marrow edema (acute / subacute).
    ACUTE = "acute"
    #: Fracture without edema (healed).
    CHRONIC = "chronic"
    #: Edema without height loss: possible occult fracture or another cause; review.
    EDEMA_WITHOUT_FRACTURE = "edema_without_fracture"
    #: No fracture, no edema.
    NONE = "none"
    #: Cannot be assessed (no edema series, partial body, poor quality); reasons say why.
    INDETERMINATE = "indeterminate"
