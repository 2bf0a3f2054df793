-- The read-only analyst login (created with its password by the entrypoint): it may read every table
-- the owner makes, now and later, and change nothing.
GRANT CONNECT ON DATABASE :"database" TO analyst;
GRANT USAGE ON SCHEMA public TO analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO analyst;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT ON TABLES TO analyst;
