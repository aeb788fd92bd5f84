"""``python -m gnc_teach`` = the ``gnc-teach`` command line."""
import sys

from .cli import main

sys.exit(main())
