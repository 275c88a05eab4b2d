"""``aefeatures.streaming``, the documented path of :mod:`aefeatures.transform.streaming`."""

from aefeatures.transform.streaming import COMPRESSIONS, transform_path

__all__ = ["COMPRESSIONS", "transform_path"]
