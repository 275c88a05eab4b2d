"""The ``aefeatures`` command line.

Results go to stdout (JSON with ``--json``); logs, progress and errors go to stderr.
Exit codes: 0 ok, 1 data/schema/model problem, 2 usage error, 130 interrupted (Ctrl-C, SIGINT),
143 terminated (SIGTERM; both remove unfinished outputs). Set ``AEFEATURES_DEBUG=1`` to see
tracebacks. Each command module registers its commands on :data:`app`; the import
order below is the order of ``aefeatures --help``.
"""

# isort: skip_file
from aefeatures.cli import fit_commands, data_commands, writeback_commands, model_commands  # noqa: F401  (registers commands)
from aefeatures.cli.app import app, main, run

__all__ = ["app", "main", "run"]
