"""Before/after checks that a failed load changed nothing."""

import sqlalchemy as sa

import analysis_lib as al


def snapshot(schema: str) -> dict[str, str]:
    """Every table in ``schema`` with a checksum of its ordered rows: equal snapshots, unchanged data."""
    with al.engine().connect() as conn:
        tables = conn.execute(
            sa.text("SELECT tablename FROM pg_tables WHERE schemaname = :s ORDER BY tablename"), {"s": schema}
        ).scalars().all()
        return {
            table: conn.execute(
                sa.text(f'SELECT md5(coalesce(string_agg(t::text, chr(10) ORDER BY t::text), \'\')) FROM "{schema}"."{table}" t')
            ).scalar()
            for table in tables
        }
