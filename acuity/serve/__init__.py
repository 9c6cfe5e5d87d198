"""Running acuity for many studies and for a PACS: batch, DICOM listener, per-study job.

* :mod:`acuity.serve.job`: one study into one output folder, all or nothing.
"""
