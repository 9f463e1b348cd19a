"""Experiments: seeded, resumable sweeps and their figures.

- :mod:`experiments.harness`: sweeps, seeding, batching, running (the API).
- :mod:`experiments.store`: atomic Parquet store and metadata.
- :mod:`experiments.backends`: serial, joblib and Dask execution.
- :mod:`experiments.fitting`: logistic fits of phase transitions.
- :mod:`experiments.plotting`: every figure, in one style (``sparserec.mplstyle``).
- ``python -m experiments.phase_transition`` and ``python -m experiments.convergence``:
  command-line experiments (``--help``).
"""
