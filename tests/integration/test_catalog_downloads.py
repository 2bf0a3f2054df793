"""Downloads of url entries from a real HTTP server on 127.0.0.1 that the test starts: pinned
hashes, no partial files, no overwrites, re-pinning, and secrets that stay secrets."""

from __future__ import annotations

import hashlib
import http.server
import os
import threading

import pytest

from analysis_lib.catalog.downloads import FetchError, fetch
from analysis_lib.catalog.spec import read_catalog
from catalog_project import Project

CSV = b"code;naam\n0363;Centrum\n0364;Noord\n"
SECRET = "s3cr3t-value-never-logged"


class Files(http.server.BaseHTTPRequestHandler):
    served: dict[str, tuple[bytes, str]] = {}
    seen_headers: list[dict] = []

    def do_GET(self):  # noqa: N802 - the name http.server calls
        Files.seen_headers.append(dict(self.headers))
        body, how = self.served.get(self.path, (b"", "missing"))
        if how == "missing":
            self.send_error(404, "Not Found")
            return
        if how.startswith("redirect "):
            self.send_response(302)
            self.send_header("Location", how.removeprefix("redirect "))
            self.end_headers()
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if how == "cut":  # the connection breaks halfway through the file
            self.wfile.write(body[: len(body) // 2])
            self.wfile.flush()
            self.connection.shutdown(2)
            return
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Files)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    Files.served, Files.seen_headers = {}, []
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture
def project(tmp_path, schema):
    return Project(tmp_path, schema)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def entry(project: Project, url: str, pin: str, **more):
    project.catalog({"buurten": {"url": url, "sha256": pin, "file": "buurten.csv", **more}})
    return read_catalog(project.root / "datasets.yml").datasets["buurten"]


def raw_files(project: Project) -> list[str]:
    folder = project.root / "data" / "raw"
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*")) if folder.exists() else []


def test_a_download_lands_whole_with_its_pinned_hash(project, server):
    Files.served["/b.csv"] = (CSV, "ok")
    fetched = fetch("buurten", entry(project, f"{server}/b.csv", sha(CSV)), project.root)
    assert fetched.action == "downloaded" and fetched.sha256 == sha(CSV)
    assert (project.root / "data/raw/buurten.csv").read_bytes() == CSV
    assert oct((project.root / "data/raw/buurten.csv").stat().st_mode & 0o777) != oct(0o600)  # not pooch's private temp mode
    assert fetch("buurten", entry(project, f"{server}/b.csv", sha(CSV)), project.root).action == "present"
    assert len(Files.seen_headers) == 1  # present: not downloaded again
    assert raw_files(project) == ["buurten.csv"]


@pytest.mark.parametrize(("how", "says"), [
    ("wrong", "the download has sha256 " + sha(b"other content") + ", datasets.yml pins"),
    ("missing", "HTTP 404 Not Found; nothing was written"),
    ("cut", "the download failed"),
])
def test_a_failed_download_leaves_no_file_at_all(project, server, how, says):
    Files.served["/b.csv"] = (b"other content", "ok") if how == "wrong" else (CSV, how)
    with pytest.raises(FetchError) as raised:
        fetch("buurten", entry(project, f"{server}/b.csv", sha(CSV)), project.root)
    assert says in str(raised.value)
    assert raw_files(project) == []  # no partial file, no temporary folder


def test_a_file_with_other_content_is_never_overwritten(project, server):
    Files.served["/b.csv"] = (CSV, "ok")
    mine = project.raw("buurten.csv", "my own edits\n")
    with pytest.raises(FetchError, match="exists with other content .* is not overwritten"):
        fetch("buurten", entry(project, f"{server}/b.csv", sha(CSV)), project.root)
    assert mine.read_text() == "my own edits\n" and Files.seen_headers == []


def test_update_downloads_again_and_re_pins_changing_nothing_else_in_the_catalog(project, server):
    Files.served["/b.csv"] = (CSV, "ok")
    entry(project, f"{server}/b.csv", sha(CSV))
    text = "# my catalog\n" + (project.root / "datasets.yml").read_text() + "# the end\n"
    (project.root / "datasets.yml").write_text(text)
    assert project.command("fetch").returncode == 0
    newer = CSV + b"0365;West\n"
    Files.served["/b.csv"] = (newer, "ok")
    present = project.command("fetch")
    assert present.returncode == 0 and "present" in present.stdout  # the file still has its pinned content: nothing to do
    updated = project.command("fetch", "--update", "buurten")
    assert updated.returncode == 0, updated.stderr
    assert f"re-pinned: sha256 {sha(CSV)} -> {sha(newer)}" in updated.stdout
    assert (project.root / "datasets.yml").read_text() == text.replace(sha(CSV), f'"{sha(newer)}"')
    assert (project.root / "data/raw/buurten.csv").read_bytes() == newer
    same = project.command("fetch", "--update")
    assert "unchanged" in same.stdout


def test_update_pins_an_entry_that_has_no_hash_yet(project, server):
    Files.served["/b.csv"] = (CSV, "ok")
    (project.root / "datasets.yml").write_text(f"datasets:\n  buurten:\n    url: {server}/b.csv\n    file: buurten.csv\n")
    assert "needs its sha256" in project.command("build").stderr
    assert project.command("fetch", "--update").returncode == 0
    assert read_catalog(project.root / "datasets.yml").datasets["buurten"].sha256 == sha(CSV)


def test_headers_name_secrets_in_the_environment_and_the_secret_is_written_nowhere(project, server):
    Files.served["/b.csv"] = (CSV, "ok")
    entry(project, f"{server}/b.csv", sha(CSV), headers={"X-Api-Key": "${env:WORKBENCH_TEST_KEY}"})
    missing = project.command("fetch")
    assert missing.returncode == 1 and "WORKBENCH_TEST_KEY is not set" in missing.stderr
    built = project.command("build", env={**os.environ, "WORKBENCH_TEST_KEY": SECRET})  # a missing download is fetched
    assert built.returncode == 0, built.stdout + built.stderr
    assert Files.seen_headers[-1]["X-Api-Key"] == SECRET
    assert SECRET not in built.stdout + built.stderr
    assert project.query(f"SELECT code FROM {project.schema}.buurten ORDER BY code") == [("0363",), ("0364",)]
    provenance = project.query("SELECT t.*::text, b.*::text FROM catalog.tables t JOIN catalog.builds b ON b.id = t.build_id"
                               " WHERE t.schema_name = :s", {"s": project.schema})
    assert provenance and all(SECRET not in " ".join(row) for row in provenance)
    assert project.current("buurten")["source_url"] == f"{server}/b.csv"
    assert project.current("buurten")["sha256"] == sha(CSV)


def test_a_secret_header_does_not_follow_a_redirect_to_another_host(project, server):
    port = server.rsplit(":", 1)[1]
    Files.served["/b.csv"] = (b"", f"redirect http://localhost:{port}/elsewhere.csv")  # another host name, as object storage is
    Files.served["/elsewhere.csv"] = (CSV, "ok")
    os.environ["WORKBENCH_TEST_KEY"] = SECRET
    try:
        fetched = fetch("buurten", entry(project, f"{server}/b.csv", sha(CSV), headers={"X-Api-Key": "${env:WORKBENCH_TEST_KEY}"}),
                        project.root)
    finally:
        del os.environ["WORKBENCH_TEST_KEY"]
    assert fetched.action == "downloaded"
    first, second = Files.seen_headers
    assert first["X-Api-Key"] == SECRET and first["Host"].startswith("127.0.0.1")
    assert "X-Api-Key" not in second and second["Host"].startswith("localhost")


def test_a_download_whose_file_was_edited_is_not_built(project, server):
    Files.served["/b.csv"] = (CSV, "ok")
    entry(project, f"{server}/b.csv", sha(CSV))
    project.raw("buurten.csv", "code;naam\n9999;Edited\n")
    result = project.build()
    assert not result.ok and "exists with other content" in result.outcomes[0].message


def test_a_header_value_the_request_refuses_is_not_quoted_in_the_error(project, server):
    Files.served["/b.csv"] = (CSV, "ok")
    os.environ["WORKBENCH_TEST_KEY"] = SECRET + "\r"  # as a Windows-edited .env leaves it
    try:
        with pytest.raises(FetchError) as raised:
            fetch("buurten", entry(project, f"{server}/b.csv", sha(CSV), headers={"X-Api-Key": "${env:WORKBENCH_TEST_KEY}"}),
                  project.root)
    finally:
        del os.environ["WORKBENCH_TEST_KEY"]
    assert SECRET not in str(raised.value) and "<header value>" in str(raised.value)


def test_update_pins_a_flow_style_entry(project, server):
    Files.served["/b.csv"] = (CSV, "ok")
    (project.root / "datasets.yml").write_text(
        f"x-defaults: &raw {{schema: {project.schema}}}\ndatasets:\n  buurten: {{<<: *raw, url: '{server}/b.csv', file: buurten.csv}}\n")
    assert project.command("fetch", "--update").returncode == 0
    assert read_catalog(project.root / "datasets.yml").datasets["buurten"].sha256 == sha(CSV)
