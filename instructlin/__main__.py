"""``python -m instructlin`` runs the CLI."""

import sys

from instructlin.cli import main

sys.exit(main())
