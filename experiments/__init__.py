"""Shims for a clone: ``python -m experiments.<name>`` runs ``sparserec.experiments.<name>``.

The experiment harness is :mod:`sparserec.harness` and the experiments
themselves are :mod:`sparserec.experiments` (phase_transition, convergence,
conditioning, prune_network, prune_global). An installed sparserec has no
``experiments`` package; it provides the console scripts
``sparserec-phase-transition``, ``sparserec-convergence``,
``sparserec-conditioning``, ``sparserec-prune-network`` and
``sparserec-prune-global`` instead.
"""
