"""Integration with a real PACS (Orthanc): the PACS sends a study to ``acuity listen``'s
listener, and the SR, SEG and key image come back into the same study in the PACS.

Orthanc runs as a subprocess on loopback (fixture ``orthanc`` in conftest.py); the listener
runs in-process. The whole analysis of the sample study runs once (about 20-30 s on 2 cores).
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any

import pydicom
from orthanc_server import ORTHANC_AET, OrthancServer, free_port, wait_until

#: Seconds from the end of the C-STORE to the results being in Orthanc.
RESULT_DEADLINE = 120.0

#: What acuity sends back: the TID 1500 SR, the SEG and the Secondary Capture key image.
RESULT_MODALITIES = ("SR", "SEG", "OT")

#: Acuity values that say a level has bone-marrow edema.
EDEMA_ACUITY = {"acute", "edema_without_fracture"}


def _sample_truth(sample_dir: Path) -> dict[str, Any]:
    truth: dict[str, Any] = json.loads((sample_dir / "TRUTH.json").read_text())
    return truth


def _by_modality(orthanc: OrthancServer, study_id: str) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = {}
    for s in orthanc.series_of(study_id):
        out.setdefault(s["MainDicomTags"].get("Modality", ""), []).append(s)
    return out


def _results_arrived(orthanc: OrthancServer, study_id: str) -> dict[str, list[dict[str, Any]]] | None:
    series = _by_modality(orthanc, study_id)
    return series if all(m in series for m in RESULT_MODALITIES) else None


def test_orthanc_sends_study_and_receives_results(
    orthanc: OrthancServer, sample_dir: Path, tmp_path: Path
) -> None:
    from acuity.report.dicom_sr import read_sr_levels
    from acuity.serve.listener import Destination, Listener, ListenerConfig

    truth = _sample_truth(sample_dir)
    study_uid = truth["study"]["study_instance_uid"]
    studies = orthanc.upload(sample_dir)
    assert len(studies) == 1, f"the sample study must be one study in Orthanc, got {studies}"
    study_id = studies[0]
    source = orthanc.get(f"/studies/{study_id}")
    assert source["MainDicomTags"]["StudyInstanceUID"] == study_uid
    n_source_series = len(source["Series"])
    n_source_instances = len(orthanc.get(f"/studies/{study_id}/instances"))

    cfg = ListenerConfig(
        spool_dir=tmp_path / "spool",
        ae_title="ACUITY",
        host="127.0.0.1",
        port=0,
        send_to=Destination(host="127.0.0.1", port=orthanc.dicom_port, ae_title=orthanc.aet),
        allowed_aets=(orthanc.aet,),
        idle_seconds=1.0,
        workers=1,
    )
    with Listener(cfg) as listener:
        assert listener.port > 0
        orthanc.set_modality("acuity", "ACUITY", "127.0.0.1", listener.port)
        orthanc.post("/modalities/acuity/echo", {})  # raises unless the C-ECHO succeeds
        job = orthanc.post(
            "/modalities/acuity/store", {"Resources": [study_id], "Synchronous": True}
        )
        assert job["FailedInstancesCount"] == 0, job
        assert job["InstancesCount"] == n_source_instances, job
        try:
            results = wait_until(
                lambda: _results_arrived(orthanc, study_id),
                RESULT_DEADLINE,
                f"series with modalities {', '.join(RESULT_MODALITIES)} in Orthanc study {study_id}",
                interval=0.5,
            )
        except TimeoutError as exc:
            have = sorted(_by_modality(orthanc, study_id))
            raise AssertionError(
                f"{exc}; modalities present: {have}; Orthanc log:\n{orthanc.log_tail()}"
            ) from None
        assert listener.wait_idle(60.0), "listener still busy after the results arrived"

    # Everything landed in the sample's study: no new study, no new patient, sources intact.
    assert orthanc.get("/studies") == [study_id]
    assert len(orthanc.get("/patients")) == 1
    after = orthanc.get(f"/studies/{study_id}")
    assert len(after["Series"]) == n_source_series + len(RESULT_MODALITIES)
    for modality in RESULT_MODALITIES:
        assert len(results[modality]) == 1, f"{modality}: {len(results[modality])} series"

    datasets = {}
    for modality in RESULT_MODALITIES:
        (instance_id,) = results[modality][0]["Instances"]
        ds = pydicom.dcmread(io.BytesIO(orthanc.instance_file(instance_id)))
        assert ds.StudyInstanceUID == study_uid, modality
        assert ds.PatientID == truth["study"]["patient_id"], modality
        assert ds.Modality == modality
        datasets[modality] = ds

    # The SR carries the sample's findings: marrow edema at L1 (the acute fracture) and at
    # no other level. (Whether L1's height loss reaches a fracture grade is the accuracy of
    # segmentation and morphometry, tested elsewhere; here: the PACS gets the SR's content.)
    levels = {lv["level"]: lv for lv in read_sr_levels(datasets["SR"])}
    assert {"L1", "L2", "L3", "L4", "L5"} <= set(levels), sorted(levels, key=str)
    with_edema = {name for name, lv in levels.items() if lv.get("acuity") in EDEMA_ACUITY}
    assert with_edema == {"L1"}, {name: lv.get("acuity") for name, lv in levels.items()}
    assert levels["L1"]["edema_pattern"] != "none", levels["L1"]
    # Its level groups point at the SEG that arrived with it.
    seg = datasets["SEG"]
    assert levels["L1"]["segment_sop_instance_uid"] == seg.SOPInstanceUID
    labels = {str(s.SegmentLabel) for s in seg.SegmentSequence}
    assert "L1 vertebral body" in labels, sorted(labels)


#: Orthanc's Lua hook, as a site would install it: on the first stability of a study, export
#: its instances to a folder and start ``acuity run-study`` in the background (os.execute
#: must not block Orthanc's Lua engine while the results are being stored back into it).
RUN_STUDY_LUA = """
local done = {}
function OnStableStudy(studyId, tags, metadata)
  if done[studyId] then return end
  done[studyId] = true
  local dir = OUTBOX .. '/' .. studyId
  os.execute('mkdir -p "' .. dir .. '"')
  for _, id in ipairs(ParseJson(RestApiGet('/studies/' .. studyId .. '/instances'))) do
    local f = assert(io.open(dir .. '/' .. id['ID'] .. '.dcm', 'wb'))
    f:write(RestApiGet('/instances/' .. id['ID'] .. '/file'))
    f:close()
  end
  os.execute(ACUITY .. ' run-study "' .. dir .. '" --send-to ' .. SEND_TO
             .. ' > "' .. dir .. '.log" 2>&1 &')
end
"""


def test_orthanc_runs_acuity_run_study_on_stable_study(
    orthanc_binary: str, sample_dir: Path, tmp_path: Path
) -> None:
    """The other integration: Orthanc calls ``acuity run-study`` from a Lua OnStableStudy
    script, and the results come back into the study by C-STORE."""
    acuity = Path(sys.executable).with_name("acuity")
    assert acuity.is_file(), f"{acuity}: the acuity console script is not installed"
    outbox = tmp_path / "outbox"
    dicom_port = free_port()
    lua = tmp_path / "on_stable_study.lua"
    header = (
        f"OUTBOX = {json.dumps(str(outbox))}\n"
        f"ACUITY = {json.dumps(str(acuity))}\n"
        f"SEND_TO = '127.0.0.1:{dicom_port}:{ORTHANC_AET}'\n"
    )
    lua.write_text(header + RUN_STUDY_LUA)
    server = OrthancServer(
        tmp_path / "orthanc", http_port=free_port(), dicom_port=dicom_port,
        extra_config={"LuaScripts": [str(lua)], "StableAge": 2},
    )
    server.start(orthanc_binary)
    try:
        (study_id,) = server.upload(sample_dir)
        try:
            results = wait_until(
                lambda: _results_arrived(server, study_id), RESULT_DEADLINE,
                f"results of acuity run-study in Orthanc study {study_id}", interval=0.5,
            )
        except TimeoutError as exc:
            logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in outbox.glob("*.log"))
            raise AssertionError(
                f"{exc}; run-study log:\n{logs or '(none)'}\nOrthanc log:\n{server.log_tail()}"
            ) from None
        assert server.get("/studies") == [study_id]
        study_uid = _sample_truth(sample_dir)["study"]["study_instance_uid"]
        for modality in RESULT_MODALITIES:
            (instance_id,) = results[modality][0]["Instances"]
            ds = pydicom.dcmread(io.BytesIO(server.instance_file(instance_id)))
            assert ds.StudyInstanceUID == study_uid, modality
        # run-study prints its summary once the association is released; then it exits.
        (log,) = outbox.glob("*.log")
        wait_until(
            lambda: True if "3 of 3 files stored" in log.read_text() else None, 30.0,
            f"the summary line in {log}",
        )
    finally:
        server.stop()
