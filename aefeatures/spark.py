"""``aefeatures.spark``, the documented path of :mod:`aefeatures.integrations.spark`."""

import sys

from aefeatures.integrations.spark import load_model_files, main, model_files, output_struct, transform

__all__ = ["load_model_files", "main", "model_files", "output_struct", "transform"]

if __name__ == "__main__":  # workers unpickle the package's functions by reference
    sys.exit(main())
