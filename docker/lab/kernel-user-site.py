"""Give the kernel (only the kernel) a user site in the project: `%pip install` in a notebook goes to
.local/ in the project folder (git-ignored), belongs to its owner and survives a re-created container.
The image's environment belongs to root; a venv sees the user site only with system site packages,
of which Debian's image has none."""

import json
import sys
from pathlib import Path

spec = Path(sys.argv[1])
kernel = json.loads(spec.read_text())
kernel["env"] = {**kernel.get("env", {}), "PYTHONUSERBASE": "/home/lab/work/.local", "PYTHONNOUSERSITE": ""}
spec.write_text(json.dumps(kernel, indent=1))
