"""``analysis-lib status`` and ``al.catalog.status()``/``lineage()``: each entry up to date, stale (and
why), missing, or a table the catalog made that no entry declares any more (orphaned)."""

from __future__ import annotations

import json
from pathlib import Path

from .. import pg
from ..errors import CatalogError
from . import provenance
from .sql import run
from .plan import UP_TO_DATE, Plan, make_plan
from .recipes import read_declared

ORPHANED = "orphaned"


def read_plan(root: Path, conn, *, verify: bool = False) -> Plan:
    """What datasets.yml declares against what the database holds and records."""
    return make_plan(read_declared(root), root, provenance.recorded(conn), provenance.existing_tables(conn), verify=verify,
                     hashes=provenance.file_hashes(conn))


def status_rows(root: str | Path = ".", *, verify: bool = False) -> list[dict]:
    with pg.connect() as conn:
        plan = read_plan(Path(root).resolve(), conn, verify=verify)
        built = {table: facts["built_at"] for table, facts in _last_builds(conn).items()}
    rows = [
        {"entry": step.name, "table": step.qualified, "kind": step.recipe.kind if not step.recipe.sql else step.recipe.materialized,
         "state": step.state, "why": "; ".join(step.reasons), "inputs": list(step.inputs),
         "build": step.recorded.build_id if step.recorded else None, "built_at": built.get((step.schema, step.table))}
        for step in plan.steps.values()
    ]
    rows += [
        {"entry": r.entry, "table": f"{r.schema}.{r.table}", "kind": r.fingerprint.components.get("kind"), "state": ORPHANED,
         "why": "made by the catalog, no longer in datasets.yml", "inputs": [], "build": r.build_id,
         "built_at": built.get((r.schema, r.table))}
        for r in plan.orphans
    ]
    return rows


def render(rows: list[dict]) -> str:
    if not rows:
        return "datasets.yml declares no entries"
    width = max(len(r["entry"]) for r in rows)
    table_width = max(len(r["table"]) for r in rows)
    lines = [f"{'entry':{width}}  {'table':{table_width}}  {'state':17}  why"]
    lines += [f"{r['entry']:{width}}  {r['table']:{table_width}}  {r['state']:17}  {r['why']}" for r in rows]
    not_current = sum(r["state"] != UP_TO_DATE for r in rows)
    lines.append(f"{len(rows) - not_current} up to date, {not_current} not" if not_current else f"all {len(rows)} up to date")
    return "\n".join(lines)


def as_json(rows: list[dict]) -> str:
    return json.dumps(rows, indent=2, ensure_ascii=False)


def status(root: str | Path = ".", *, verify: bool = False):
    """Every entry of datasets.yml (and every orphaned table) with its state, as a DataFrame."""
    import pandas as pd

    return pd.DataFrame(status_rows(root, verify=verify))


def lineage(name: str, root: str | Path = "."):
    """``name`` and everything it is made from, upstream first: one row per entry with its inputs, the
    relations outside the catalog its SQL reads, where its data came from and its last build."""
    import pandas as pd

    with pg.connect() as conn:
        plan = read_plan(Path(root).resolve(), conn)
        recorded = _last_builds(conn)
    if name not in plan.steps:
        raise CatalogError(f"no entry {name} in datasets.yml (entries: {', '.join(plan.steps)})")
    wanted = _upstream(plan, name)
    rows = []
    for step in (s for n, s in plan.steps.items() if n in wanted):
        recipe = step.recipe
        source = recipe.sql or recipe.url or f"data/raw/{recipe.path}"
        facts = recorded.get((step.schema, step.table), {})
        rows.append({
            "entry": step.name, "table": step.qualified, "kind": recipe.materialized if recipe.sql else "table",
            "source": source, "inputs": list(step.inputs), "outside": list(step.outside), "state": step.state,
            "sha256": facts.get("sha256"), "rows": facts.get("rows"), "build": facts.get("build_id"), "built_at": facts.get("built_at"),
        })
    return pd.DataFrame(rows)


def _upstream(plan: Plan, name: str) -> set[str]:
    seen, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current not in seen:
            seen.add(current)
            todo.extend(plan.steps[current].inputs)
    return seen


def _last_builds(conn) -> dict:
    """(schema, table) -> the last build's sha256, rows, build_id and built_at (ISO, to the second)."""
    if run(conn, "SELECT to_regclass('catalog.current')").scalar() is None:
        return {}
    rows = run(conn, "SELECT schema_name, table_name, sha256, rows, build_id, built_at FROM catalog.current").all()
    return {(schema, table): {"sha256": sha, "rows": count, "build_id": build, "built_at": when.isoformat(timespec="seconds")}
            for schema, table, sha, count, build, when in rows}
