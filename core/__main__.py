"""`python -m core <command>`: the command line lives in core/tools/cli.py."""
import sys

from core.tools.cli import main

if __name__ == "__main__":
    sys.exit(main())
