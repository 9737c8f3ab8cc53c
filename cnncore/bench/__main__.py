"""`python -m cnncore.bench`, the same as `python -m cnncore bench`."""
import sys

from .cli import main

sys.exit(main())
