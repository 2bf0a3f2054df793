-- Applied by the entrypoint on every start, as the superuser, so that a database made by an older
-- image gets the same rules: the passwords from the secrets volume, and a read-only analyst that
-- reads every schema and table the owner makes, now and later, and can change nothing.
\getenv password WORKBENCH_DB_PASSWORD
\getenv analyst_password WORKBENCH_ANALYST_PASSWORD
ALTER ROLE :"owner" LOGIN PASSWORD :'password';
ALTER ROLE analyst LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD :'analyst_password';
GRANT CONNECT ON DATABASE :"database" TO analyst;
-- PUBLIC may make temporary tables by default: the owner still may (appends stage in one), the analyst not.
REVOKE TEMPORARY ON DATABASE :"database" FROM PUBLIC;
GRANT TEMPORARY ON DATABASE :"database" TO :"owner";
-- Large objects need no privilege to create, and one the owner cannot read stops every pg_dump: only
-- the owner may make them.
REVOKE EXECUTE ON FUNCTION pg_catalog.lo_creat(integer), pg_catalog.lo_create(oid),
  pg_catalog.lo_from_bytea(oid, bytea), pg_catalog.lo_import(text), pg_catalog.lo_import(text, oid) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION pg_catalog.lo_creat(integer), pg_catalog.lo_create(oid),
  pg_catalog.lo_from_bytea(oid, bytea) TO :"owner";
-- The owner sees every session's state and query: a load that waits for a lock names who holds it.
GRANT pg_read_all_stats TO :"owner";

-- Tables the owner creates later, in any schema.
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" GRANT SELECT ON TABLES TO analyst;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" GRANT SELECT ON SEQUENCES TO analyst;

-- Schemas and tables that exist now.
DO $grant$
DECLARE
  found record;
BEGIN
  FOR found IN
    SELECT nspname FROM pg_namespace
    WHERE nspname NOT IN ('pg_catalog', 'information_schema', 'workbench_admin') AND nspname NOT LIKE 'pg\_%'
  LOOP
    EXECUTE format('GRANT USAGE ON SCHEMA %I TO analyst', found.nspname);
    EXECUTE format('GRANT SELECT ON ALL TABLES IN SCHEMA %I TO analyst', found.nspname);
  END LOOP;
END
$grant$;

-- Schemas created later (by the owner, by hand or by a restore): usage for the analyst, through an
-- event trigger whose function belongs to the superuser in a schema of its own (left out of backups).
CREATE SCHEMA IF NOT EXISTS workbench_admin;
REVOKE ALL ON SCHEMA workbench_admin FROM PUBLIC;
CREATE OR REPLACE FUNCTION workbench_admin.analyst_reads_new_schema() RETURNS event_trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog AS $function$
DECLARE
  made record;
BEGIN
  FOR made IN SELECT object_identity FROM pg_event_trigger_ddl_commands() WHERE command_tag = 'CREATE SCHEMA' LOOP
    EXECUTE format('GRANT USAGE ON SCHEMA %s TO analyst', made.object_identity);
  END LOOP;
END
$function$;
REVOKE ALL ON FUNCTION workbench_admin.analyst_reads_new_schema() FROM PUBLIC;
DROP EVENT TRIGGER IF EXISTS analyst_reads_new_schemas;
CREATE EVENT TRIGGER analyst_reads_new_schemas ON ddl_command_end WHEN TAG IN ('CREATE SCHEMA')
  EXECUTE FUNCTION workbench_admin.analyst_reads_new_schema();
