"""``python -m experiments.convergence`` (from a clone): the shim of
:func:`sparserec.experiments.convergence.main`.
"""
import sys

from sparserec.experiments.convergence import main

if __name__ == "__main__":
    sys.exit(main())
