"""``aefeatures.streaming``, the documented path of :mod:`aefeatures.transform.streaming`."""

from aefeatures.defaults import COMPRESSIONS
from aefeatures.transform.streaming import transform_path

__all__ = ["COMPRESSIONS", "transform_path"]
