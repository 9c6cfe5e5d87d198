"""Per-level measurement: morphometry (heights, Genant grade, deformity, posterior wall),
marrow-edema scoring and the acuity decision."""
