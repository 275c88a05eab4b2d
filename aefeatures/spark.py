"""``aefeatures.spark``, the documented path of :mod:`aefeatures.integrations.spark`.

``python -m aefeatures.spark DATA --model DIR --output OUT`` is the job entry point
(:func:`aefeatures.cli.jobs.spark`).
"""

from aefeatures.cli.app import run_to_exit
from aefeatures.cli.jobs import spark_main as main
from aefeatures.integrations.spark import load_model_files, model_files, output_struct, transform

__all__ = ["load_model_files", "main", "model_files", "output_struct", "transform"]

if __name__ == "__main__":  # the job runs in package modules: workers unpickle its functions by reference
    run_to_exit(main)
