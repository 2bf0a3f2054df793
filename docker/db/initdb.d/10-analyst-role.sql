-- Read-only group role for reports and SQL cells: every table the owner creates is readable.
CREATE ROLE analyst NOLOGIN;
GRANT CONNECT ON DATABASE :"database" TO analyst;
GRANT USAGE ON SCHEMA public TO analyst;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO analyst;
ALTER DEFAULT PRIVILEGES FOR ROLE :"owner" IN SCHEMA public GRANT SELECT ON TABLES TO analyst;
