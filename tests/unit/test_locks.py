"""The two locks pin the same versions: requirements.lock (the lab image, and the library tests in it)
and requirements-host.lock (tests/run on the host: the same plus the browser tests' Playwright)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIN = re.compile(r"^([A-Za-z0-9_.-]+)==([^ \\;]+)", re.MULTILINE)


def pins(name: str) -> dict[str, str]:
    return {package.lower(): version for package, version in PIN.findall((ROOT / name).read_text())}


def test_the_host_lock_is_the_image_lock_plus_the_browser_tests():
    image, host = pins("requirements.lock"), pins("requirements-host.lock")
    assert {package: host.get(package) for package in image} == image
    assert "playwright" in host and "playwright" not in image
