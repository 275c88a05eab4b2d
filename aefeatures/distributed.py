"""``python -m aefeatures.distributed``, the documented path of :mod:`aefeatures.fitting.distributed`."""

import sys

from aefeatures.fitting.distributed import fit_distributed, main

__all__ = ["fit_distributed", "main"]

if __name__ == "__main__":
    sys.exit(main())
