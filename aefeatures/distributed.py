"""``aefeatures.distributed``, the documented path of :mod:`aefeatures.fitting.distributed`.

``torchrun --nproc-per-node N -m aefeatures.distributed DATA MODEL_DIR [options]`` is the job
entry point (:func:`aefeatures.cli.jobs.distributed`).
"""

from aefeatures.cli.app import run_to_exit
from aefeatures.cli.jobs import distributed_main as main
from aefeatures.fitting.distributed import fit_distributed

__all__ = ["fit_distributed", "main"]

if __name__ == "__main__":
    run_to_exit(main)
