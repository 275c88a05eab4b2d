"""``python -m aefeatures``: the same command line as the ``aefeatures`` script."""

from aefeatures.cli import run

if __name__ == "__main__":
    run()
