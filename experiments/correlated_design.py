"""``python -m experiments.correlated_design`` (from a clone): the shim of
:func:`sparserec.experiments.correlated_design.main`.
"""
import sys

from sparserec.experiments.correlated_design import main

if __name__ == "__main__":
    sys.exit(main())
