"""Outputs: the JSON report (and, later, HTML, DICOM SR/SEG and summary tables)."""
