import os
import sys

from app.cli import main

os.environ.setdefault("PYTHONUNBUFFERED", "1")
sys.exit(main())
