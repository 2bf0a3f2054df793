"""Downloads of ``url:`` entries into data/raw, by pooch: checked against the pinned sha256 before they
take their place, never a partial file, never over a file with other content. Secrets in request
headers are written as ``${env:VARIABLE}`` and filled in from the environment for the request only."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pooch
import requests
import yaml

from .fingerprints import sha256_of
from .plan import source_path
from .spec import CatalogError, Entry, with_environment


class FetchError(CatalogError):
    """A download failed or does not match its pin; nothing in data/raw was changed."""


@dataclass(frozen=True)
class Fetched:
    name: str
    path: Path
    sha256: str
    size: int
    action: str  # 'downloaded', 'present', 'updated', 'unchanged'
    previous_sha256: str | None = None


def fetch(name: str, entry: Entry, root: Path, *, update: bool = False, timeout: float = 60) -> Fetched:
    """Make sure data/raw holds the entry's download. ``update``: download again and re-pin the hash
    in datasets.yml (the caller writes it) when the content changed."""
    target = source_path(root, entry)
    if target.exists() and not update:
        found = sha256_of(target)
        if found != entry.sha256:
            raise FetchError(
                f"{target.relative_to(root)} exists with other content (sha256 {found}, datasets.yml pins {entry.sha256}) and is not"
                f" overwritten: move it away, or pin its content with analysis-lib fetch --update {name}")
        return Fetched(name, target, found, target.stat().st_size, "present")
    had = sha256_of(target) if target.exists() else None
    downloaded = _download(name, entry, target, known=None if update else entry.sha256, timeout=timeout)
    try:
        sha, size = sha256_of(downloaded), downloaded.stat().st_size
        if sha != had:
            os.chmod(downloaded, 0o666 & ~_umask())  # pooch's temporary file is private; data/raw files are not
            os.replace(downloaded, target)
    finally:
        shutil.rmtree(downloaded.parent, ignore_errors=True)
    action = "downloaded" if had is None else "unchanged" if sha == had else "updated"
    return Fetched(name, target, sha, size, action, had)


def _umask() -> int:
    """This process's umask, read without setting it (os.umask would change it for every thread)."""
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"^Umask:\s*([0-7]+)", status, re.MULTILINE).group(1), 8)
    except (OSError, AttributeError):
        return 0o022


def _download(name: str, entry: Entry, target: Path, *, known: str | None, timeout: float) -> Path:
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_abandoned(target.parent)
    # beside the target, so the move is atomic
    folder = Path(tempfile.mkdtemp(prefix=".fetch-", dir=target.parent))
    headers = {key: with_environment(value, os.environ) for key, value in entry.headers.items()}
    downloader = _HeadersForTheirHostOnly(headers, timeout)
    try:
        with _quiet_pooch():
            fetched = pooch.retrieve(entry.url, known_hash=f"sha256:{known}" if known else None, fname=target.name,
                                     path=folder, downloader=downloader)
    except requests.HTTPError as error:
        shutil.rmtree(folder, ignore_errors=True)
        status = error.response.status_code if error.response is not None else "?"
        reason = error.response.reason if error.response is not None else ""
        raise FetchError(f"{name}: {entry.url}: HTTP {status} {reason}; nothing was written") from None
    except requests.RequestException as error:
        shutil.rmtree(folder, ignore_errors=True)
        reason = _short(error, secrets=headers.values())
        raise FetchError(f"{name}: {entry.url}: the download failed ({type(error).__name__}: {reason}); nothing was written") from None
    except ValueError as error:
        shutil.rmtree(folder, ignore_errors=True)
        found = re.search(r"but got ([0-9a-f]{64})", str(error))
        raise FetchError(
            f"{name}: {entry.url}: the download has sha256 {found.group(1) if found else '?'}, datasets.yml pins {known};"
            f" nothing was written (if the source changed on purpose: analysis-lib fetch --update {name})") from None
    return Path(fetched)


class _Session(requests.Session):
    """requests drops only Authorization when a redirect leaves the host; this drops every header the
    entry gave (an X-Api-Key must not reach whatever host a download redirects to)."""

    def __init__(self, given: set[str]):
        super().__init__()
        self.given = given

    def rebuild_auth(self, prepared, response):
        super().rebuild_auth(prepared, response)
        before, after = urlparse(response.request.url), urlparse(prepared.url)
        if (before.scheme, before.hostname, before.port) != (after.scheme, after.hostname, after.port):
            for header in self.given:
                prepared.headers.pop(header, None)


class _HeadersForTheirHostOnly:
    """A pooch downloader (pooch keeps the temporary file, the hash check and the move)."""

    def __init__(self, headers: dict[str, str], timeout: float):
        self.headers, self.timeout = headers, timeout

    def __call__(self, url: str, output_file, pooch_instance=None, check_only: bool = False):
        with _Session(set(self.headers)) as session:
            response = session.get(url, headers=self.headers, stream=True, timeout=self.timeout)
            response.raise_for_status()
            with open(output_file, "wb") if isinstance(output_file, (str, os.PathLike)) else contextlib.nullcontext(output_file) as sink:
                for chunk in response.iter_content(chunk_size=1 << 20):
                    sink.write(chunk)


_ABANDONED_AFTER = 24 * 3600  # seconds: no download takes that long; a fetch elsewhere (host, container) may be running


def _remove_abandoned(folder: Path) -> None:
    """Temporary folders of fetches killed mid-download (a process id says nothing across containers)."""
    for leftover in folder.glob(".fetch-*"):
        try:
            if time.time() - leftover.stat().st_mtime > _ABANDONED_AFTER:
                shutil.rmtree(leftover, ignore_errors=True)
        except FileNotFoundError:
            pass


def _short(error: Exception, secrets=()) -> str:
    """The first line of an error, with any header value it quotes (requests quotes a bad one) hidden."""
    text = str(error).splitlines()[0] if str(error) else type(error).__name__
    for secret in secrets:
        for form in {secret, repr(secret)[1:-1], secret.strip()}:
            if form:
                text = text.replace(form, "<header value>")
    return text[:200]


@contextlib.contextmanager
def _quiet_pooch():
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def repin(catalog_file: Path, name: str, sha256: str) -> None:
    """Write ``sha256`` as the entry's pin in datasets.yml, changing nothing else of the file."""
    text = catalog_file.read_text(encoding="utf-8")
    root = yaml.compose(text)
    entry = _child(_child(root, "datasets"), name)
    if entry is None:
        raise CatalogError(f"{catalog_file}: no entry {name}")
    pinned = next(((key, value) for key, value in entry.value if key.value == "sha256"), None)
    if pinned is not None:
        value = pinned[1]
        text = text[: value.start_mark.index] + f'"{sha256}"' + text[value.end_mark.index :]
    elif entry.flow_style:  # {url: …, file: …}: the pin goes inside the braces
        closing = text.rindex("}", 0, entry.end_mark.index)
        text = text[:closing].rstrip() + f', sha256: "{sha256}"' + text[closing:]
    else:
        url_key = next(key for key, _ in entry.value if key.value == "url")
        line_end = text.index("\n", url_key.start_mark.index) if "\n" in text[url_key.start_mark.index :] else len(text)
        indent = " " * url_key.start_mark.column
        text = text[:line_end] + f'\n{indent}sha256: "{sha256}"' + text[line_end:]
    written = _child(_child(yaml.compose(text), "datasets"), name)
    if written is None or next((v.value for k, v in written.value if k.value == "sha256"), None) != sha256:
        raise CatalogError(f"{catalog_file}: cannot write the pin of {name}; add sha256: \"{sha256}\" to it by hand")
    target = catalog_file.resolve()  # a symlinked datasets.yml stays a symlink
    temporary = target.with_name(f".{target.name}.new")
    temporary.write_text(text, encoding="utf-8")
    shutil.copymode(target, temporary)
    os.replace(temporary, target)


def _child(node, key: str):
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((value for k, value in node.value if k.value == key), None)
