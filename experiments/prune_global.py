"""``python -m experiments.prune_global`` (from a clone): the shim of
:func:`sparserec.experiments.prune_global.main`.
"""
import sys

from sparserec.experiments.prune_global import main

if __name__ == "__main__":
    sys.exit(main())
