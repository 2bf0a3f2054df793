"""Putting a checked table (or view) in the place of the old one inside the caller's transaction, with
every view that depends on the old one, declared or made by hand, dropped and made again over the
new one: they never break or vanish. A view the new table cannot serve (a column it used is gone)
stops the swap, and the transaction leaves everything as it was."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import sqlalchemy as sa

from .sql import ident, literal, quoted, run

_KINDS = {"r": "TABLE", "p": "TABLE", "v": "VIEW", "m": "MATERIALIZED VIEW"}
_MAX_NAME = 63


@dataclass(frozen=True)
class DependentView:
    schema: str
    name: str
    kind: str  # VIEW or MATERIALIZED VIEW
    definition: str
    options: list[str]
    comment: str | None
    column_comments: list[tuple[str, str]]
    grants: list[tuple[str, str]]  # (privilege, grantee or PUBLIC)
    indexes: list[str]  # a materialized view's CREATE INDEX statements

    @property
    def qualified(self) -> str:
        return quoted(self.schema, self.name)


def kind_of(conn: sa.Connection, schema: str, name: str) -> str | None:
    relkind = run(
        conn,
        "SELECT c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s",
        (schema, name)).scalar()
    return _KINDS.get(relkind) if relkind else None


def dependent_views(conn: sa.Connection, schema: str, name: str) -> list[DependentView]:
    """Views and materialized views that read ``schema.name``, directly or through each other, in an
    order they can be made in."""
    rows = run(
        conn,
        """
        WITH RECURSIVE dependents(oid, depth) AS (
            SELECT DISTINCT r.ev_class, 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
             WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
               AND d.refobjid = %(target)s::regclass AND r.ev_class <> %(target)s::regclass
            UNION
            SELECT DISTINCT r.ev_class, dependents.depth + 1 FROM dependents
              JOIN pg_depend d ON d.refobjid = dependents.oid AND d.classid = 'pg_rewrite'::regclass
               AND d.refclassid = 'pg_class'::regclass
              JOIN pg_rewrite r ON r.oid = d.objid AND r.ev_class <> dependents.oid
             WHERE dependents.depth < 100
        )
        SELECT n.nspname, c.relname, c.relkind, pg_get_viewdef(c.oid), coalesce(c.reloptions, '{}'),
               obj_description(c.oid, 'pg_class'),
               coalesce((SELECT jsonb_agg(jsonb_build_array(a.attname, col_description(c.oid, a.attnum)) ORDER BY a.attnum)
                           FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0
                            AND col_description(c.oid, a.attnum) IS NOT NULL), '[]'),
               coalesce((SELECT jsonb_agg(jsonb_build_array(g.privilege_type, coalesce(r.rolname, 'PUBLIC')))
                           FROM aclexplode(c.relacl) g LEFT JOIN pg_roles r ON r.oid = g.grantee WHERE g.grantee <> c.relowner), '[]'),
               coalesce((SELECT jsonb_agg(pg_get_indexdef(i.indexrelid) ORDER BY i.indexrelid)
                           FROM pg_index i WHERE i.indrelid = c.oid), '[]'),
               max(dependents.depth) AS depth
          FROM dependents JOIN pg_class c ON c.oid = dependents.oid JOIN pg_namespace n ON n.oid = c.relnamespace
         GROUP BY c.oid, n.nspname
         ORDER BY depth, n.nspname, c.relname
        """,
        {"target": quoted(schema, name)},
    ).all()
    return [
        DependentView(view_schema, view_name, _KINDS[relkind], definition.strip().rstrip(";"), list(options), comment,
                      [tuple(pair) for pair in column_comments], [tuple(pair) for pair in grants], list(indexes))
        for view_schema, view_name, relkind, definition, options, comment, column_comments, grants, indexes, _ in rows
    ]


def drop_views(conn: sa.Connection, views: list[DependentView]) -> None:
    for view in reversed(views):
        run(conn, f"DROP {view.kind} {view.qualified}")


def make_views(conn: sa.Connection, views: list[DependentView], recipes: dict[tuple[str, str], str] | None = None,
               build_id: int | None = None) -> None:
    """Make ``views`` again, in order. ``recipes``: the new SQL of views that are entries of this build
    still to come (their own step makes them once more, checked, with provenance), used when the old
    definition no longer fits the new table; such a view's COMMENT then says it is not yet checked."""
    for view in views:
        options = f" WITH ({', '.join(view.options)})" if view.options else ""
        recipe = (recipes or {}).get((view.schema, view.name))
        made_from_recipe = False
        try:
            with conn.begin_nested():
                run(conn, f"CREATE {view.kind} {view.qualified}{options} AS {view.definition}\n")
        except sa.exc.DBAPIError as error:
            if recipe is None:
                raise _broken(view, error) from None
            try:
                with conn.begin_nested():
                    path = run(conn, "SHOW search_path").scalar()
                    run(conn, f"SET LOCAL search_path TO {ident(view.schema)}, public")  # as its own step runs it
                    run(conn, f"CREATE {view.kind} {view.qualified}{options} AS {recipe}\n")
                    run(conn, "SELECT set_config('search_path', %s, true)", (path,))
                made_from_recipe = True
            except sa.exc.DBAPIError as error_again:
                raise _broken(view, error_again) from None
        for statement in view.indexes:
            try:
                with conn.begin_nested():
                    run(conn, statement)
            except sa.exc.DBAPIError as error:
                if made_from_recipe:
                    continue  # an index of the old recipe's columns; the entry's own step makes its indexes
                reason = str(error.orig).strip().splitlines()[0]
                raise DependentBroken(f"an index of the {view.kind.lower()} {view.schema}.{view.name} cannot be made again"
                                      f" ({reason}): {statement}; nothing was changed") from None
        comment = view.comment
        if made_from_recipe:
            comment = (f"made from its new recipe by analysis-lib build {build_id} when a table it reads was rebuilt;"
                       " not checked yet: its own entry is built next")
        if comment is not None:
            run(conn, f"COMMENT ON {view.kind} {view.qualified} IS {literal(comment)}")
        for column, text in view.column_comments:
            run(conn, f"COMMENT ON COLUMN {view.qualified}.{ident(column)} IS {literal(text)}")
        _grant(conn, view.qualified, view.grants)


def _broken(view: DependentView, error: sa.exc.DBAPIError) -> DependentBroken:
    reason = str(error.orig).strip().splitlines()[0]
    return DependentBroken(f"the {view.kind.lower()} {view.schema}.{view.name} depends on it and cannot be made over the new"
                           f" table ({reason}); nothing was changed")


def _grant(conn: sa.Connection, qualified: str, grants: list[tuple[str, str]]) -> None:
    for privilege, grantee in grants:
        target = "PUBLIC" if grantee == "PUBLIC" else ident(grantee)
        run(conn, f"GRANT {privilege} ON {qualified} TO {target}")


class DependentBroken(Exception):
    """A view or index made by hand on the old table cannot be made on the new one."""


@dataclass(frozen=True)
class TableExtras:
    """What was given to the old table by hand and would go with it: grants, column comments, indexes."""

    grants: list[tuple[str, str]]
    column_comments: list[tuple[str, str]]
    indexes: list[tuple[str, str]]  # (name, CREATE INDEX …), not those of constraints


def table_extras(conn: sa.Connection, schema: str, name: str) -> TableExtras:
    grants, comments, indexes = run(
        conn,
        """
        SELECT coalesce((SELECT jsonb_agg(jsonb_build_array(g.privilege_type, coalesce(r.rolname, 'PUBLIC')))
                           FROM aclexplode(c.relacl) g LEFT JOIN pg_roles r ON r.oid = g.grantee WHERE g.grantee <> c.relowner), '[]'),
               coalesce((SELECT jsonb_agg(jsonb_build_array(a.attname, col_description(c.oid, a.attnum)))
                           FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                            AND col_description(c.oid, a.attnum) IS NOT NULL), '[]'),
               coalesce((SELECT jsonb_agg(jsonb_build_array(x.relname, pg_get_indexdef(i.indexrelid)))
                           FROM pg_index i JOIN pg_class x ON x.oid = i.indexrelid WHERE i.indrelid = c.oid
                            AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)), '[]')
          FROM pg_class c WHERE c.oid = %s::regclass
        """,
        (quoted(schema, name),),
    ).one()
    hand_made = [(index, statement) for index, statement in indexes if not is_own_index(name, index)]
    return TableExtras([tuple(g) for g in grants], [tuple(c) for c in comments], hand_made)


def gist_index_name(table: str, column: str) -> str:
    """The name of the GiST index the catalog gives a geometry column (unique per column, at most 63 bytes)."""
    suffix = f"_{column}_gist" if len(column) <= 14 else f"_{hashlib.sha1(column.encode()).hexdigest()[:8]}_gist"
    return table[: 63 - len(suffix)] + suffix


def is_own_index(table: str, index: str) -> bool:
    """An index the loader or the catalog makes for a table: GiST indexes named after it."""
    return index.endswith("_gist") and index.startswith(table[:40])


def restore_extras(conn: sa.Connection, schema: str, name: str, extras: TableExtras) -> None:
    """Give the new table what the old one was given by hand; an index or comment whose column is gone
    stops the swap (nothing changes), as a view would; a comment on a column that is gone goes with it."""
    qualified = quoted(schema, name)
    present = set(run(conn, "SELECT relname FROM pg_class WHERE relnamespace = %s::regnamespace", (ident(schema),)).scalars())
    columns = set(run(conn, "SELECT attname FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped",
                      (qualified,)).scalars())
    for index, statement in extras.indexes:
        if index in present:
            continue  # the new table has it (the loader's GiST index, say)
        try:
            with conn.begin_nested():
                run(conn, statement)
        except sa.exc.DBAPIError as error:
            reason = str(error.orig).strip().splitlines()[0]
            raise DependentBroken(f"the index {schema}.{index} on it cannot be made on the new table ({reason}); nothing was changed") from None
    for column, text in extras.column_comments:
        if column in columns:
            run(conn, f"COMMENT ON COLUMN {qualified}.{ident(column)} IS {literal(text)}")
    _grant(conn, qualified, extras.grants)


SWAP_LOCK = "analysis_lib.catalog.swap"


def one_swap_at_a_time(conn: sa.Connection, lock_timeout_ms: int) -> None:
    """Swaps of one build (--jobs N) wait for each other: two of them dropping and making one shared
    view at once would deadlock. Loads, queries and checks still run side by side. Only this build's
    workers take the lock, so it is waited for without the entry's lock_timeout (set again after)."""
    run(conn, "SET LOCAL lock_timeout = 0")
    run(conn, "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (SWAP_LOCK,))
    run(conn, f"SET LOCAL lock_timeout = '{lock_timeout_ms}ms'")


def put_in_place(conn: sa.Connection, staging_schema: str, staging: str, kind: str, schema: str, name: str) -> None:
    """Move ``staging_schema.staging`` (a TABLE or MATERIALIZED VIEW) to ``schema.name``, replacing what
    is there, and give its indexes and constraints the new name."""
    old = kind_of(conn, schema, name)
    if old:
        run(conn, f"DROP {old} {quoted(schema, name)}")
    run(conn, f"ALTER {kind} {quoted(staging_schema, staging)} SET SCHEMA {ident(schema)}")
    run(conn, f"ALTER {kind} {quoted(schema, staging)} RENAME TO {ident(name)}")
    renamed = run(
        conn,
        "SELECT c.relname FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = %s::regclass",
        (quoted(schema, name),)).scalars().all()
    for index in renamed:
        if index.startswith(staging):
            constraint = run(
                conn,
                "SELECT conname FROM pg_constraint WHERE conindid = (SELECT oid FROM pg_class WHERE relname = %s"
                " AND relnamespace = %s::regnamespace) AND conrelid = %s::regclass",
                (index, f'"{schema}"', quoted(schema, name))).scalar()
            suffix = index[len(staging):]
            new = name[: _MAX_NAME - len(suffix)] + suffix
            if constraint:
                run(conn, f'ALTER TABLE {quoted(schema, name)} RENAME CONSTRAINT "{constraint}" TO "{new}"')
            else:
                run(conn, f'ALTER INDEX {quoted(schema, index)} RENAME TO "{new}"')
