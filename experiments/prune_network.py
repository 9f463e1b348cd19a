"""``python -m experiments.prune_network`` (from a clone): the shim of
:func:`sparserec.experiments.prune_network.main`.
"""
import sys

from sparserec.experiments.prune_network import main

if __name__ == "__main__":
    sys.exit(main())
