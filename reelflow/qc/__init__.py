"""Automatic QC of every clip (#19): measure once (measure.py), judge with every registered check
(checks.py, found under the `reelflow.qc` entry point group), report (report.py); runner.py is
what the pipeline and `reelflow qc` call; spec.py is the shot list's `qc:` section."""
