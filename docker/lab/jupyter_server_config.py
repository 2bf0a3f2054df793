"""Jupyter Server settings of the workbench lab image.

The token comes from the secrets volume (generated on first start, or JUPYTER_TOKEN from .env; the
entrypoint hands the lab's user its copy in /run/lab), so it survives restarts and never appears in
the image, the compose file or the kernel's environment.
"""

import os
from pathlib import Path

c = get_config()  # noqa: F821 - provided by Jupyter's config loader

c.ServerApp.ip = "0.0.0.0"
c.ServerApp.port = 8888
c.ServerApp.open_browser = False
c.ServerApp.root_dir = os.environ.get("LAB_ROOT_DIR", "/home/lab/work")
c.ServerApp.base_url = os.environ.get("LAB_BASE_URL", "/")
# Containers have no internet: no extension search on PyPI, no news or update checks.
c.LabApp.extension_manager = "readonly"

_token_file = Path(os.environ.get("JUPYTER_TOKEN_FILE", "/run/lab/jupyter_token"))
c.IdentityProvider.token = _token_file.read_text().strip()

# Optional: a password (as well as the token), given only as its hash, e.g. from
#   docker compose run --rm --no-deps lab python -c "from jupyter_server.auth import passwd; print(passwd())"
# and LAB_PASSWORD_HASH='argon2:…' in .env. Setting a new one from the login page is off: .env decides.
if os.environ.get("LAB_PASSWORD_HASH"):
    c.PasswordIdentityProvider.hashed_password = os.environ["LAB_PASSWORD_HASH"]
c.PasswordIdentityProvider.allow_password_change = False

# Lab settings and workspaces (theme, shortcuts, open tabs) live in the project folder, git-ignored,
# so they survive a re-created container and belong to the folder's owner.
c.LabApp.user_settings_dir = str(Path(c.ServerApp.root_dir) / ".jupyter" / "lab" / "user-settings")
c.LabApp.workspaces_dir = str(Path(c.ServerApp.root_dir) / ".jupyter" / "lab" / "workspaces")
