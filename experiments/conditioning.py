"""``python -m experiments.conditioning`` (from a clone): the shim of
:func:`sparserec.experiments.conditioning.main`.
"""
import sys

from sparserec.experiments.conditioning import main

if __name__ == "__main__":
    sys.exit(main())
