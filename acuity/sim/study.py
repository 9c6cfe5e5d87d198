"""Simulated DICOM studies with ground truth.

* :func:`make_sample_study`: the bundled synthetic thoracolumbar study (``sample_dicom/``):
  3-plane localizer, sagittal T2 / T1 / STIR, axial T2 through the lower three discs, one
  acute wedge fracture with band edema and one healed wedge fracture, ``TRUTH.json`` and the
  vertebral-body label map ``TRUTH_labels.nii.gz`` in the STIR geometry.
* :func:`study_from_real_case`: a real labelled exam (``image.nii.gz``, ``labels.nii.gz``,
  ``meta.json``) with simulated lesions, written as one Siemens-style sagittal series.

Both are deterministic: fixed dates, UIDs derived from the seed, seeded noise.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import SimpleITK as sitk
from pydicom.uid import ExplicitVRLittleEndian, JPEGLSLossless, RLELossless

from acuity.errors import InputError
from acuity.measure.enum import Acuity, DeformityType, EdemaPattern
from acuity.sim.dicom_writer import FileNaming, SeriesSpec, StudySpec, make_uid, write_series
from acuity.sim.grid import Grid
from acuity.sim.lesion import (
    Contrast,
    EdemaContrast,
    add_edema,
    body_frames,
    compress_body,
    genant_grade,
    measure_heights,
    resolve_loss,
)
from acuity.sim.phantom import (
    Anatomy,
    AnatomyParams,
    PhantomLesion,
    Raster,
    RenderSettings,
    body_heights,
    build_anatomy,
    rasterize,
    render,
)
from acuity.sim.protocols import (
    LOCALIZER,
    PROTOCOL_FOR_CONTRAST,
    T1_TSE_SAG,
    T2_TIRM_SAG,
    T2_TSE_SAG,
    T2_TSE_TRA,
    Protocol,
)
from acuity.sim.truth import (
    GENERATOR_VERSION,
    EdemaTruth,
    LesionTruth,
    LevelTruth,
    SeriesTruth,
    Truth,
)

logger = logging.getLogger(__name__)

DEFAULT_SEED = 20240315
LABELS_FILE = "TRUTH_labels.nii.gz"
TRUTH_FILE = "TRUTH.json"


@dataclass(frozen=True)
class LesionSpec:
    """A lesion to simulate: ``LEVEL:DEFORMITY:GRADE_OR_LOSS:ACUITY[:PATTERN[:RATIO]]``.

    GRADE_OR_LOSS is a Genant grade (1, 2, 3) or a height-loss percentage (``30%``).
    PATTERN (acute only) is ``band`` (default) or ``diffuse``; RATIO the STIR edema ratio.
    """

    level: str
    deformity: DeformityType
    height_loss: float
    acuity: Acuity
    edema: EdemaPattern = EdemaPattern.NONE
    fs_ratio: float = 1.9

    def __post_init__(self) -> None:
        object.__setattr__(self, "deformity", DeformityType(self.deformity))
        object.__setattr__(self, "acuity", Acuity(self.acuity))
        object.__setattr__(self, "edema", EdemaPattern(self.edema))
        if self.acuity is Acuity.ACUTE and self.edema is EdemaPattern.NONE:
            object.__setattr__(self, "edema", EdemaPattern.BAND)
        if self.acuity is not Acuity.ACUTE and self.edema is not EdemaPattern.NONE:
            raise InputError(f"lesion at {self.level}: edema needs acuity 'acute'")
        EdemaContrast(fs_ratio=self.fs_ratio)

    @classmethod
    def parse(cls, text: str) -> LesionSpec:
        parts = text.split(":")
        if not 4 <= len(parts) <= 6:
            raise InputError(
                f"lesion {text!r}: write LEVEL:DEFORMITY:GRADE_OR_LOSS:ACUITY[:PATTERN[:RATIO]], "
                "e.g. L1:wedge:2:acute or L3:wedge:22%:chronic"
            )
        level, deformity, amount, acuity = parts[:4]
        try:
            if amount.endswith("%"):
                loss = resolve_loss(None, float(amount[:-1]) / 100.0)
            else:
                loss = resolve_loss(int(amount), None)
            dtype = DeformityType(deformity.lower())
            acu = Acuity(acuity.lower())
            pattern = EdemaPattern(parts[4].lower()) if len(parts) > 4 else EdemaPattern.NONE
            ratio = float(parts[5]) if len(parts) > 5 else 1.9
        except ValueError as exc:
            raise InputError(f"lesion {text!r}: {exc}") from exc
        return cls(level.upper(), dtype, loss, acu, pattern, ratio)

    def phantom_lesion(self) -> PhantomLesion:
        return PhantomLesion(
            level=self.level,
            deformity=self.deformity,
            height_loss=self.height_loss,
            acuity=self.acuity,
            edema=self.edema,
            contrast=EdemaContrast(fs_ratio=self.fs_ratio),
        )


SAMPLE_LESIONS = (
    LesionSpec("L1", DeformityType.WEDGE, 0.32, Acuity.ACUTE, EdemaPattern.BAND, 1.9),
    LesionSpec("L3", DeformityType.WEDGE, 0.27, Acuity.CHRONIC, EdemaPattern.NONE),
)


@dataclass(frozen=True)
class SampleConfig:
    """Size of the generated study. ``quick()`` is a small version for tests."""

    seed: int = DEFAULT_SEED
    sag_pixel_mm: float = 1.1
    sag_matrix: tuple[int, int] = (224, 288)  # (columns AP, rows SI)
    sag_slices: int = 15
    sag_spacing_mm: float = 4.4
    ax_pixel_mm: float = 200.0 / 192.0
    ax_matrix: int = 192
    ax_slices_per_disc: int = 3
    ax_discs: tuple[str, ...] = ("L3", "L4", "L5")
    loc_pixel_mm: float = 400.0 / 256.0
    loc_matrix: int = 256
    sub_samples: int = 3
    lesions: tuple[LesionSpec, ...] = SAMPLE_LESIONS

    @classmethod
    def quick(cls, seed: int = DEFAULT_SEED) -> SampleConfig:
        return cls(
            seed=seed,
            sag_pixel_mm=2.5,
            sag_matrix=(96, 128),
            sag_slices=5,
            sag_spacing_mm=6.0,
            ax_pixel_mm=4.0,
            ax_matrix=48,
            ax_slices_per_disc=1,
            ax_discs=("L4",),
            loc_pixel_mm=8.0,
            loc_matrix=48,
            sub_samples=1,
        )


@dataclass
class _PlannedStack:
    grid: Grid
    plane: str


@dataclass
class _PlannedSeries:
    number: int
    protocol: Protocol
    role: str
    stacks: list[_PlannedStack]
    folder: str
    naming: FileNaming
    transfer_syntax: str
    series_time: str
    shuffle: bool = False
    uid: str = ""
    images: list[np.ndarray] = field(default_factory=list)


def _sagittal_grid(anatomy: Anatomy, cfg: SampleConfig) -> Grid:
    t10 = anatomy.vertebra("T10").frame.centre
    s1 = anatomy.vertebra("S1").frame.centre
    l3 = anatomy.vertebra("L3").frame.centre
    nx, ny = cfg.sag_matrix
    cz = 0.5 * (t10[2] + s1[2])
    cy = l3[1] + 0.5 * (110.0 - nx * cfg.sag_pixel_mm / 2) + 12.0
    return Grid.centred(
        (anatomy.params.midline_x + 1.2, cy, cz),
        (0.0, 1.0, 0.0),
        (0.0, 0.0, -1.0),
        (cfg.sag_pixel_mm, cfg.sag_pixel_mm, cfg.sag_spacing_mm),
        (nx, ny, cfg.sag_slices),
    )


def _disc_grid(anatomy: Anatomy, upper: str, cfg: SampleConfig) -> Grid:
    up = anatomy.vertebra(upper)
    dn = anatomy.vertebrae[up.index + 1]
    a = np.asarray(up.frame.centre) - np.asarray(up.frame.superior) * up.height / 2
    b = np.asarray(dn.frame.centre) + np.asarray(dn.frame.superior) * dn.height / 2
    mid = 0.5 * (a + b)
    sup = np.asarray(up.frame.superior) + np.asarray(dn.frame.superior)
    sup /= np.linalg.norm(sup)
    post = np.cross(sup, np.array([1.0, 0.0, 0.0]))  # (1,0,0) x post = sup
    post /= np.linalg.norm(post)
    centre = mid + post * 30.0
    n = cfg.ax_slices_per_disc
    return Grid.centred(
        (float(centre[0]), float(centre[1]), float(centre[2])),
        (1.0, 0.0, 0.0),
        (float(post[0]), float(post[1]), float(post[2])),
        (cfg.ax_pixel_mm, cfg.ax_pixel_mm, 4.4),
        (cfg.ax_matrix, cfg.ax_matrix, n),
    )


def _localizer_grids(anatomy: Anatomy, cfg: SampleConfig) -> list[_PlannedStack]:
    l1 = np.asarray(anatomy.vertebra("L1").frame.centre)
    l2 = np.asarray(anatomy.vertebra("L2").frame.centre)
    c = 0.5 * (l1 + l2)
    n = cfg.loc_matrix
    px = cfg.loc_pixel_mm
    body_y = float(c[1]) + 98.0 - 122.0
    sag = Grid.centred((0.0, body_y, float(c[2])), (0.0, 1.0, 0.0), (0.0, 0.0, -1.0),
                       (px, px, 12.0), (n, n, 3))
    cor = Grid.centred((0.0, float(c[1]) + 5.0, float(c[2])), (1.0, 0.0, 0.0),
                       (0.0, 0.0, -1.0), (px, px, 10.0), (n, n, 3))
    l3z = anatomy.vertebra("L3").frame.centre[2]
    spacing = 0.5 * (anatomy.vertebra("L1").frame.centre[2] - anatomy.vertebra("L5").frame.centre[2])
    ax = Grid.centred((0.0, body_y, float(l3z)), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0),
                      (px, px, float(spacing)), (n, n, 3))
    return [_PlannedStack(sag, "sagittal"), _PlannedStack(cor, "coronal"),
            _PlannedStack(ax, "axial")]


def _study_spec(seed: int) -> StudySpec:
    study_uid = str(make_uid("acuity-sample-study", seed))
    return StudySpec(
        patient_id="ACUITY-SAMPLE-001",
        patient_name="ACUITY^SAMPLE",
        study_date="20240315",
        study_time="091500",
        accession_number="ACUITYSAMPLE1",
        study_description="MR THORACOLUMBAR SPINE (SYNTHETIC)",
        study_instance_uid=study_uid,
        frame_of_reference_uid=str(make_uid("acuity-sample-for", seed)),
        patient_sex="F",
    )


def _fov_text(grid: Grid) -> str:
    return f"FoV {grid.size[1] * grid.spacing[1]:.0f}*{grid.size[0] * grid.spacing[0]:.0f}"


def _write_series(study: StudySpec, plan: _PlannedSeries, out: Path, seed: int) -> int:
    proto = plan.protocol
    folder = out / plan.folder
    n_written = 0
    first = 1
    for stack, image in zip(plan.stacks, plan.images):
        g = stack.grid
        spec = SeriesSpec(
            array=image,
            origin=g.origin,
            spacing=g.spacing,
            direction=g.direction,
            series_instance_uid=plan.uid,
            series_number=plan.number,
            series_description=proto.description,
            echo_time=proto.sequence.te,
            repetition_time=proto.sequence.tr,
            inversion_time=proto.sequence.ti,
            flip_angle=proto.sequence.flip,
            first_instance_number=first,
            header=proto.header(series_time=plan.series_time, matrix_text="", fov_text=""),
            private=proto.private(
                matrix_text=f"{g.size[1]}p*{g.size[0]}",
                fov_text=_fov_text(g),
                orientation_text={"sagittal": "Sag", "coronal": "Cor", "axial": "Tra"}[stack.plane],
                acquisition_seconds=60 + 11 * g.size[2] * (1 + proto.echo_train_length // 8),
            ),
            transfer_syntax=plan.transfer_syntax,
        )
        paths = write_series(
            study,
            spec,
            folder,
            file_names=plan.naming,
            shuffle_seed=(seed + plan.number) if plan.shuffle else None,
        )
        n_written += len(paths)
        first += g.size[2]
    return n_written


def _labels_on(raster: Raster, present: list[str], anatomy: Anatomy) -> np.ndarray:
    """Label map renumbered 1..N over the levels present (superior to inferior)."""
    internal = raster.labels()
    out = np.zeros_like(internal)
    for new, name in enumerate(present, start=1):
        out[internal == anatomy.vertebra(name).label] = new
    return out


def _fully_inside(grid: Grid, anatomy: Anatomy, name: str) -> bool:
    vb = anatomy.vertebra(name)
    corners = [(a * vb.height / 2, b * vb.depth / 2, 0.0) for a in (-1, 1) for b in (-1, 1)]
    pts = np.array([vb.frame.to_lps(np.array(u), np.array(v), np.array(w)) for u, v, w in corners])
    idx = grid.lps_to_index(pts)
    size = np.array(grid.size, dtype=float)
    return bool(np.all(idx[:, :2] >= -0.5) and np.all(idx[:, :2] <= size[:2] - 0.5))


def make_sample_study(out_dir: str | Path, config: SampleConfig | None = None, *,
                      overwrite: bool = False) -> Truth:
    """Generate the synthetic study into ``out_dir`` and return its truth."""
    cfg = config or SampleConfig()
    out = Path(out_dir)
    _prepare_out(out, overwrite)
    params = AnatomyParams(seed=cfg.seed, lesions=tuple(s.phantom_lesion() for s in cfg.lesions))
    anatomy = build_anatomy(params)
    study = _study_spec(cfg.seed)
    sag = _sagittal_grid(anatomy, cfg)
    sag_stack = [_PlannedStack(sag, "sagittal")]
    ax_stacks = [_PlannedStack(_disc_grid(anatomy, d, cfg), "axial") for d in cfg.ax_discs]
    plans = [
        _PlannedSeries(1, LOCALIZER, "localizer", _localizer_grids(anatomy, cfg), "SE01",
                       FileNaming.INSTANCE, ExplicitVRLittleEndian, "091512"),
        _PlannedSeries(2, T2_TSE_SAG, "sagittal_t2", sag_stack, "SE02", FileNaming.UID,
                       ExplicitVRLittleEndian, "091708", shuffle=True),
        _PlannedSeries(3, T1_TSE_SAG, "sagittal_t1", sag_stack, "SE03", FileNaming.NOEXT,
                       JPEGLSLossless, "092021"),
        _PlannedSeries(4, T2_TIRM_SAG, "sagittal_stir", sag_stack, "SE04", FileNaming.INSTANCE,
                       ExplicitVRLittleEndian, "092347"),
        _PlannedSeries(5, T2_TSE_TRA, "axial_t2", ax_stacks, "SE05", FileNaming.INSTANCE,
                       RLELossless, "092731"),
    ]
    rasters: dict[int, Raster] = {}
    for plan in plans:
        plan.uid = str(make_uid("acuity-sample-series", cfg.seed, plan.number))
        for k, stack in enumerate(plan.stacks):
            key = id(stack.grid)
            if key not in rasters:
                rasters[key] = rasterize(anatomy, stack.grid,
                                         thickness=plan.protocol.slice_thickness,
                                         n_sub=cfg.sub_samples)
            settings = RenderSettings(plan.protocol.sequence, plan.protocol.contrast,
                                      seed=plan.number * 10 + k)
            plan.images.append(render(anatomy, rasters[key], settings))
    series_truth = []
    for plan in plans:
        n = _write_series(study, plan, out, cfg.seed)
        series_truth.append(SeriesTruth(
            series_number=plan.number,
            series_instance_uid=plan.uid,
            description=plan.protocol.description,
            role=plan.role,
            planes=[s.plane for s in plan.stacks],
            n_images=n,
            folder=plan.folder,
            transfer_syntax=str(plan.transfer_syntax),
        ))
    stir_raster = rasters[id(sag)]
    internal = stir_raster.labels()
    present = [vb.name for vb in anatomy.labelled() if np.any(internal == vb.label)]
    labels = _labels_on(stir_raster, present, anatomy)
    sitk.WriteImage(sag.to_image(labels), str(out / LABELS_FILE), True)
    levels = []
    frac_by_level = {f.vertebra.name: f for f in anatomy.fractures}
    for new, name in enumerate(present, start=1):
        vb = anatomy.vertebra(name)
        heights = (frac_by_level[name].heights()[1] if name in frac_by_level
                   else body_heights(vb))
        levels.append(LevelTruth(
            name=name,
            label=new,
            centroid_lps=[round(v, 3) + 0.0 for v in vb.frame.centre],
            superior_axis_lps=[round(v, 5) + 0.0 for v in vb.frame.superior],
            anterior_axis_lps=[round(v, 5) + 0.0 for v in vb.frame.anterior],
            heights_mm=heights.as_dict(),
            partial=not _fully_inside(sag, anatomy, name),
        ))
    lesions = []
    for f in anatomy.fractures:
        les = f.lesion
        before, after = f.heights()
        loss = les.height_loss
        acute = les.acuity is Acuity.ACUTE
        lesions.append(LesionTruth(
            level=les.level,
            label=present.index(les.level) + 1 if les.level in present else 0,
            deformity=les.deformity.value,
            genant_grade=genant_grade(loss),
            height_loss_pct=round(100.0 * loss, 2),
            heights_mm=after.as_dict(),
            heights_before_mm=before.as_dict(),
            edema=EdemaTruth(
                present=acute,
                pattern=les.edema.value,
                ratio_stir=les.contrast.fs_ratio if acute else None,
                ratio_t1=les.contrast.t1_ratio if acute else None,
                ratio_t2=les.contrast.t2_ratio if acute else None,
            ),
            expected_acuity=les.acuity.value,
        ))
    truth = Truth(
        generator={
            "name": "acuity.sim.study.make_sample_study",
            "version": GENERATOR_VERSION,
            "seed": cfg.seed,
            "config": "quick" if cfg.sag_slices < 10 else "full",
            "source": "analytic phantom (acuity.sim.phantom)",
        },
        study={
            "study_instance_uid": study.study_instance_uid,
            "frame_of_reference_uid": study.frame_of_reference_uid,
            "patient_id": study.patient_id,
            "patient_name": study.patient_name,
            "study_date": study.study_date,
            "description": study.study_description,
        },
        levels=levels,
        lesions=lesions,
        series=series_truth,
        label_map={
            "file": LABELS_FILE,
            "series_instance_uid": plans[3].uid,
            "series_role": "sagittal_stir",
            "labels": "vertebral bodies 1..N superior to inferior (see levels)",
        },
        notes=[
            ("heights_mm: anterior/middle/posterior body heights along the superior axis at "
             "10/50/90 % of the depth from the anterior wall (acuity.sim.lesion.measure_heights)"),
            ("height_loss_pct: wedge = anterior, biconcave = middle, crush = mean of the three, "
             "relative to the same body before the fracture"),
            "edema ratios: mean edema signal over normal marrow signal of the same body",
            "centroid_lps: centre of the (pre-fracture) body shape",
        ],
    )
    truth.write(out / TRUTH_FILE)
    (out / "README.md").write_text(_readme(truth), encoding="utf-8")
    return truth


def _prepare_out(out: Path, overwrite: bool) -> None:
    if out.exists() and any(out.iterdir()):
        if not overwrite:
            raise InputError(f"{out} is not empty: pass overwrite=True (--force) to replace it")
        for child in out.iterdir():
            if child.is_dir():
                shutil.rmtree(child)
            else:
                child.unlink()
    out.mkdir(parents=True, exist_ok=True)


def _readme(truth: Truth) -> str:
    lines = [
        "# Synthetic sample study (generated - do not edit)",
        "",
        "A synthetic, anatomically plausible thoracolumbar spine MRI made by",
        "`scripts/make_sample_study.py` (library code: `acuity/sim/`). Nothing here comes from",
        "a patient or a dataset. Regenerate with `python scripts/make_sample_study.py -o",
        "sample_dicom --force`; the output is byte-identical for the same seed.",
        "",
        (f"Patient `{truth.study['patient_name']}` / `{truth.study['patient_id']}`, study date "
         f"{truth.study['study_date']}, seed {truth.generator['seed']}, generator version "
         f"{truth.generator['version']}. See docs/sample_study.md for the models."),
        "",
        "| # | folder | description | role | planes | images | transfer syntax |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in truth.series:
        lines.append(f"| {s.series_number} | {s.folder} | {s.description} | {s.role} | "
                     f"{', '.join(s.planes)} | {s.n_images} | {s.transfer_syntax} |")
    lines += ["", "Levels in the label map (top to bottom): "
              + ", ".join(lv.name + (" (partial)" if lv.partial else "") for lv in truth.levels),
              "", "Lesions:", ""]
    for les in truth.lesions:
        edema = (f"{les.edema.pattern} edema, STIR ratio {les.edema.ratio_stir}"
                 if les.edema.present else "no edema")
        lines.append(f"- {les.level}: {les.deformity}, Genant {les.genant_grade}, height loss "
                     f"{les.height_loss_pct:.0f} %, {edema}; expected acuity "
                     f"**{les.expected_acuity}**")
    lines += ["", (f"Ground truth: `TRUTH.json`; vertebral-body labels in the STIR geometry: "
                   f"`{LABELS_FILE}`."), ""]
    return "\n".join(lines)


# -- real labelled exams ----------------------------------------------------------------------


def _case_meta(case_dir: Path) -> dict[str, object]:
    meta_path = case_dir / "meta.json"
    if not meta_path.is_file():
        return {}
    try:
        data = json.loads(meta_path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise InputError(f"{meta_path} is not valid JSON: {exc}") from exc
    return data if isinstance(data, dict) else {}


def _level_names(meta: dict[str, object], n: int) -> list[str]:
    names = meta.get("levels_top_to_bottom")
    if isinstance(names, list) and len(names) == n:
        return [str(x) for x in names]
    return [f"V{i}" for i in range(1, n + 1)]


def study_from_real_case(
    case_dir: str | Path,
    lesions: Sequence[LesionSpec],
    out_dir: str | Path,
    *,
    seed: int = DEFAULT_SEED,
    overwrite: bool = False,
    transfer_syntax: str = ExplicitVRLittleEndian,
) -> Truth:
    """Write a real labelled exam with simulated lesions as a DICOM study plus truth.

    Levels are named from ``meta["levels_top_to_bottom"]`` when it matches the labels, else
    ``V1..VN``; a lesion's level may also be given as ``V<k>`` or ``#<label>``.
    """
    case = Path(case_dir)
    img_path, lab_path = case / "image.nii.gz", case / "labels.nii.gz"
    if not img_path.is_file() or not lab_path.is_file():
        raise InputError(f"{case} must hold image.nii.gz and labels.nii.gz")
    meta = _case_meta(case)
    image = sitk.ReadImage(str(img_path))
    label_img = sitk.ReadImage(str(lab_path))
    grid = Grid.from_image(image)
    lab_grid = Grid.from_image(label_img)
    if lab_grid.shape != grid.shape or not np.allclose(lab_grid.origin, grid.origin, atol=1e-3):
        raise InputError(f"{lab_path} does not lie on the grid of {img_path}")
    arr = sitk.GetArrayFromImage(image).astype(np.float32)
    labels = sitk.GetArrayFromImage(label_img).astype(np.uint8)
    ids = sorted(int(i) for i in np.unique(labels) if i != 0)
    names = _level_names(meta, len(ids))
    name_to_label = {nm: lab for nm, lab in zip(names, ids)}
    contrast = Contrast.parse(str(meta.get("sequence", "t2")))
    protocol = PROTOCOL_FOR_CONTRAST.get(contrast, T2_TSE_SAG)
    frames = body_frames(labels, grid)
    before_all = {lab: measure_heights(labels, grid, lab, frames[lab]) for lab in ids}
    # Scale 8-bit data into a 12-bit range so that bright edema does not clip.
    arr *= 4.0
    lesion_truth = []
    for k, les_spec in enumerate(lesions):
        lab = _resolve_label(les_spec.level, name_to_label, ids)
        name = names[ids.index(lab)]
        before = measure_heights(labels, grid, lab, frames[lab])
        after = before
        loss = 0.0
        if les_spec.deformity is not DeformityType.NONE and les_spec.height_loss > 0:
            res = compress_body(arr, labels, grid, lab, les_spec.deformity,
                                height_loss=les_spec.height_loss, frame=frames[lab])
            arr, labels, after = res.image, res.labels, res.after
            loss = res.height_loss
        model = EdemaContrast(fs_ratio=les_spec.fs_ratio)
        if les_spec.acuity is Acuity.ACUTE:
            ed = add_edema(arr, labels, grid, lab, contrast, pattern=les_spec.edema, model=model,
                           endplates=les_spec.deformity, frame=frames[lab], seed=seed + k)
            arr = ed.image
        acute = les_spec.acuity is Acuity.ACUTE
        lesion_truth.append(LesionTruth(
            level=name,
            label=lab,
            deformity=les_spec.deformity.value,
            genant_grade=genant_grade(loss),
            height_loss_pct=round(100.0 * loss, 2),
            heights_mm=after.as_dict(),
            heights_before_mm=before.as_dict(),
            edema=EdemaTruth(
                present=acute,
                pattern=les_spec.edema.value,
                ratio_stir=model.fs_ratio if acute else None,
                ratio_t1=model.t1_ratio if acute else None,
                ratio_t2=model.t2_ratio if acute else None,
            ),
            expected_acuity=les_spec.acuity.value,
        ))
    out = Path(out_dir)
    _prepare_out(out, overwrite)
    case_id = case.name
    study = StudySpec(
        patient_id=f"ACUITY-REAL-{case_id}",
        patient_name=f"ACUITY^{case_id.upper()}",
        study_date="20240315",
        study_time="100000",
        accession_number="ACUITYREAL1",
        study_description=f"MR SPINE (real exam {case_id} + simulated lesions)",
        study_instance_uid=str(make_uid("acuity-real-study", case_id, seed)),
        frame_of_reference_uid=str(make_uid("acuity-real-for", case_id, seed)),
    )
    series_uid = str(make_uid("acuity-real-series", case_id, seed))
    stored = np.clip(np.rint(arr), 0, 4095).astype(np.uint16)
    spec = SeriesSpec(
        array=stored,
        origin=grid.origin,
        spacing=grid.spacing,
        direction=grid.direction,
        series_instance_uid=series_uid,
        series_number=2,
        series_description=protocol.description,
        echo_time=protocol.sequence.te,
        repetition_time=protocol.sequence.tr,
        inversion_time=protocol.sequence.ti,
        flip_angle=protocol.sequence.flip,
        header={**protocol.header(series_time="100500", matrix_text="", fov_text=""),
                "SliceThickness": grid.spacing[2]},
        private=protocol.private(matrix_text=f"{grid.size[1]}p*{grid.size[0]}",
                                 fov_text=_fov_text(grid), orientation_text="Sag",
                                 acquisition_seconds=240),
        transfer_syntax=transfer_syntax,
    )
    paths = write_series(study, spec, out / "SE02")
    sitk.WriteImage(grid.to_image(labels), str(out / LABELS_FILE), True)
    frames_after = body_frames(labels, grid)
    levels = []
    for name, lab in zip(names, ids):
        fr = frames[lab]
        h = measure_heights(labels, grid, lab, fr) if lab in frames_after else before_all[lab]
        levels.append(LevelTruth(
            name=name,
            label=lab,
            centroid_lps=[round(v, 3) for v in fr.centre],
            superior_axis_lps=[round(v, 5) for v in fr.superior],
            anterior_axis_lps=[round(v, 5) for v in fr.anterior],
            heights_mm=h.as_dict(),
        ))
    truth = Truth(
        generator={
            "name": "acuity.sim.study.study_from_real_case",
            "version": GENERATOR_VERSION,
            "seed": seed,
            "source": f"real exam {case_id} ({meta.get('dataset', 'unknown dataset')})",
            "lesions": [f"{les.level}:{les.deformity}:{les.height_loss_pct}%:{les.expected_acuity}"
                        for les in lesion_truth],
        },
        study={
            "study_instance_uid": study.study_instance_uid,
            "frame_of_reference_uid": study.frame_of_reference_uid,
            "patient_id": study.patient_id,
            "patient_name": study.patient_name,
            "study_date": study.study_date,
            "description": study.study_description,
        },
        levels=levels,
        lesions=lesion_truth,
        series=[SeriesTruth(
            series_number=2,
            series_instance_uid=series_uid,
            description=protocol.description,
            role=f"sagittal_{contrast.value}",
            planes=["sagittal"],
            n_images=len(paths),
            folder="SE02",
            transfer_syntax=str(transfer_syntax),
        )],
        label_map={"file": LABELS_FILE, "series_instance_uid": series_uid,
                   "series_role": f"sagittal_{contrast.value}",
                   "labels": "the case's own labels (superior to inferior)"},
        notes=["image intensities are the case's 8-bit values x 4 (plus simulated edema)"],
    )
    truth.write(out / TRUTH_FILE)
    return truth


def _resolve_label(level: str, name_to_label: dict[str, int], ids: list[int]) -> int:
    if level in name_to_label:
        return name_to_label[level]
    if level.startswith("#") and level[1:].isdigit() and int(level[1:]) in ids:
        return int(level[1:])
    raise InputError(
        f"lesion level {level!r} is not in this case; known: {sorted(name_to_label)} "
        f"(or #<label> with a label in {ids})"
    )

