"""Fixed sets of values used by series classification and selection."""

from __future__ import annotations

from enum import Enum


class ContrastClass(str, Enum):
    """What a stack shows, as the analyzer needs it (one value per stack)."""

    STIR = "stir"
    T2_FS = "t2_fs"
    T2 = "t2"
    T1 = "t1"
    T1_FS = "t1_fs"
    PD = "pd"
    PD_FS = "pd_fs"
    FLAIR = "flair"
    DIXON_WATER = "dixon_water"
    DIXON_FAT = "dixon_fat"
    DIXON_IN_PHASE = "dixon_in_phase"
    DIXON_OPPOSED_PHASE = "dixon_opposed_phase"
    DWI = "dwi"
    LOCALIZER = "localizer"
    OTHER = "other"


class FatSuppression(str, Enum):
    """How fat signal is removed, if it is."""

    #: Short-TI inversion recovery (STIR, TIRM): fat nulled by its T1.
    INVERSION_RECOVERY = "inversion_recovery"
    #: Frequency-selective: fat saturation/CHESS, SPIR, SPAIR/SPECIAL, water excitation.
    SPECTRAL = "spectral"
    #: Chemical-shift (Dixon) water/fat separation: IDEAL, FLEX, mDIXON, Siemens Dixon.
    DIXON = "dixon"
    NONE = "none"


class Weighting(str, Enum):
    """Contrast weighting of the acquisition, before fat suppression is considered."""

    T1 = "t1"
    T2 = "t2"
    PD = "pd"
    FLAIR = "flair"
    DWI = "dwi"
    LOCALIZER = "localizer"
    #: Positively something else: EPI/BOLD, field map, perfusion, angiography, T2* GRE...
    OTHER = "other"
    #: Nothing in the header says.
    UNKNOWN = "unknown"


class DixonComponent(str, Enum):
    """Which image of a Dixon (chemical-shift) acquisition a stack is."""

    WATER = "water"
    FAT = "fat"
    IN_PHASE = "in_phase"
    OPPOSED_PHASE = "opposed_phase"
    UNKNOWN = "unknown"


class Role(str, Enum):
    """What the analyzer uses a stack for."""

    #: The fluid-sensitive fat-suppressed series read for bone-marrow edema.
    EDEMA = "edema"
    #: Sagittal T1 companion (marrow fat: healed vs acute, morphology).
    T1 = "t1"
    #: Sagittal T2 companion (without fat suppression).
    T2 = "t2"
    #: Not used.
    UNUSED = "unused"


class Decision(str, Enum):
    """The per-stack decisions made by the rules, in the order they are made."""

    DERIVED = "derived"
    FAT_SUPPRESSION = "fat_suppression"
    DIXON_COMPONENT = "dixon_component"
    WEIGHTING = "weighting"
