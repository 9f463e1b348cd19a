"""``python -m experiments.phase_transition`` (from a clone): the shim of
:func:`sparserec.experiments.phase_transition.main`.
"""
import sys

from sparserec.experiments.phase_transition import main

if __name__ == "__main__":
    sys.exit(main())
