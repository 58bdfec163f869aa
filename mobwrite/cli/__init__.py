"""The ``mobwrite`` command-line tools (usage: ``mobwrite --help``, or
mobwrite/cli/main.py). One job a module:

    main.py       argparse and dispatch; ``main`` is the console script
    transport.py  the one HTTP transport: URL check, keep-alive POST, answer
                  check, failures as CliError with the exit status
    commands.py   download, upload, nullify on ``mobwrite.client.Client``
    syncfile.py   sync: a file and its FILE.mobwrite.json state
    files.py      reading and writing the user's files
    loadtest.py   the open-loop load tester, its progress bar and summary
"""

from .main import main

__all__ = ["main"]
