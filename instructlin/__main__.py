"""``python -m instructlin`` runs the CLI."""

import sys

from instructlin.cli.commands import main

sys.exit(main())
