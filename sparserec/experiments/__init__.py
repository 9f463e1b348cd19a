"""The runnable experiments, built on the harness (:mod:`sparserec.harness`).

Each module is a command line with a ``main(argv=None)`` entry point:

- :mod:`~sparserec.experiments.phase_transition`: ``sparserec-phase-transition``;
- :mod:`~sparserec.experiments.convergence`: ``sparserec-convergence``;
- :mod:`~sparserec.experiments.conditioning`: ``sparserec-conditioning``;
- :mod:`~sparserec.experiments.prune_network`: ``sparserec-prune-network``;
- :mod:`~sparserec.experiments.nettrim_samples`: ``sparserec-nettrim-samples``.
- :mod:`~sparserec.experiments.prune_global`: ``sparserec-prune-global``.

Those console scripts are installed with sparserec; ``python -m
sparserec.experiments.<name>`` works wherever sparserec imports, and a clone
of the repository also runs ``python -m experiments.<name>`` (thin shims).
The experiments are the top layer: they may use every part of the library
(``prune_network`` and ``prune_global`` use :mod:`sparserec.pruning`), and nothing in the library
imports them.
"""
