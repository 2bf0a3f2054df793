"""A project folder with a datasets.yml, files under data/raw and SQL files, written by a test."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
import yaml

import analysis_lib as al
from analysis_lib.catalog.builder import build


class Project:
    def __init__(self, root: Path, schema: str):
        self.root, self.schema = root, schema

    def catalog(self, entries: dict) -> None:
        """datasets.yml with ``entries``; each goes into the test's schema unless it names one."""
        datasets = {name: {"schema": self.schema, **entry} for name, entry in entries.items()}
        (self.root / "datasets.yml").write_text(yaml.safe_dump({"datasets": datasets}, sort_keys=False), encoding="utf-8")

    def raw(self, name: str, text: str | bytes) -> Path:
        path = self.root / "data" / "raw" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(text, bytes):
            path.write_bytes(text)
        else:
            path.write_text(text, encoding="utf-8")
        return path

    def sql(self, name: str, text: str) -> str:
        path = self.root / "sql" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return f"sql/{name}"

    def build(self, *names: str, **options):
        return build(self.root, list(names), echo=lambda line: None, **options)

    def command(self, *args: str, timeout: float = 300, env: dict | None = None) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "analysis_lib", *args, "--project", str(self.root)], capture_output=True,
                              text=True, timeout=timeout, env=env or os.environ.copy())

    def execute(self, *statements: str) -> None:
        """Statements made by hand, as an analyst would in psql, in one transaction."""
        with al.engine().begin() as conn:
            for statement in statements:
                conn.exec_driver_sql(statement)

    def query(self, sql: str, params: dict | None = None) -> list:
        with al.engine().connect() as conn:
            return conn.execute(sa.text(sql), params or {}).all()

    def current(self, table: str) -> dict | None:
        rows = self.query("SELECT * FROM catalog.current WHERE schema_name = :s AND table_name = :t", {"s": self.schema, "t": table})
        return rows[0]._asdict() if rows else None
