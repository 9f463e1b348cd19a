"""``python -m experiments.nettrim_samples`` (from a clone): the shim of
:func:`sparserec.experiments.nettrim_samples.main`.
"""
import sys

from sparserec.experiments.nettrim_samples import main

if __name__ == "__main__":
    sys.exit(main())
