"""``python -m robot_us`` runs the command line."""

import sys

from robot_us.cli import main

sys.exit(main())
