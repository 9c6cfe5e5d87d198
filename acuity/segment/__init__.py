"""Vertebral-body segmentation and level labelling.

``segment_image(image)`` finds every vertebral body of a sagittal (or any) MR volume, numbers
them superior to inferior and names their levels; ``map_labels(seg, other_series)`` carries
the result to another series of the same frame of reference. The network (a MONAI 2-D UNet
fed 2.5-D slice stacks) is loaded from local files in ``models/``; torch and MONAI are imported
only when a segmentation runs.
"""

from acuity.segment.api import segment_image
from acuity.segment.level import VertebraLevel, level_range
from acuity.segment.mapping import map_labels
from acuity.segment.model import BodyOverlap, OverlapReport, Segmentation, VertebralBody
from acuity.segment.network import LoadedModel, ModelConfig, load_model

__all__ = [
    "BodyOverlap",
    "LoadedModel",
    "ModelConfig",
    "OverlapReport",
    "Segmentation",
    "VertebraLevel",
    "VertebralBody",
    "level_range",
    "load_model",
    "map_labels",
    "segment_image",
]
