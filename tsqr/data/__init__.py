"""Files that ship inside the tsqr package, so `pip install .` users have them wherever they run tsqr.

`DEMO_DIR` is the bundled demo corpus (BRIGHT's format, written for tsqr; its README says what is in it).
The data loader resolves the source name "demo" to it (`--data demo` on the command line, `load_domain("demo",
"demo")` in Python); the app searches it by default.
"""
from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent / "demo"
DEMO_NAME = "demo"
