"""Running acuity for many studies and for a PACS.

* :mod:`acuity.serve.job`: one study into one output folder, all or nothing.
* :mod:`acuity.serve.batch`: ``acuity batch`` (study discovery, resumable worker-process runs,
  errors.csv / summary.csv); its records are in :mod:`acuity.serve.batch_model`, the up-to-date
  check in :mod:`acuity.serve.fingerprint`, the CSV / JSON files in :mod:`acuity.serve.batch_files`,
  the local worker processes in :mod:`acuity.serve.pool`; :mod:`acuity.serve.cluster` runs the
  same jobs on dask.distributed.
* :mod:`acuity.serve.listener`: ``acuity listen``, a DICOM storage SCP with a disk spool
  (:mod:`acuity.serve.spool`), isolated analyses (:mod:`acuity.serve.worker`) and results sent
  back by C-STORE (:mod:`acuity.serve.send`).
"""
