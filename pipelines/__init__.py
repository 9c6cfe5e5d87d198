"""Declarative data of acuity: series-selection rules, thresholds and guideline profiles.

Installed as ``acuity.pipelines``; read with :func:`acuity.config.pipeline_file`.
"""
