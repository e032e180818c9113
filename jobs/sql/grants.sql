-- Unity Catalog grants for ParkPal, run once per environment by a metastore or catalog admin
-- (infra/unity_catalog.tf applies the same grants with Terraform; this file is the SQL form,
-- for workspaces where the catalog is managed by hand). Replace the ${...} placeholders, or run with
-- `databricks bundle run` variables: catalog, schema_prefix, engineers and analysts group names.
--
-- Analysts: read gold only (tables and views), nothing in bronze, silver or ops.
-- Engineers: read and write bronze, silver, gold and ops; create tables there.

GRANT USE CATALOG ON CATALOG ${catalog} TO `${analysts}`;
GRANT USE SCHEMA, SELECT ON SCHEMA ${catalog}.${schema_prefix}gold TO `${analysts}`;

GRANT USE CATALOG ON CATALOG ${catalog} TO `${engineers}`;
GRANT USE SCHEMA, SELECT, MODIFY, CREATE TABLE ON SCHEMA ${catalog}.${schema_prefix}bronze TO `${engineers}`;
GRANT USE SCHEMA, SELECT, MODIFY, CREATE TABLE ON SCHEMA ${catalog}.${schema_prefix}silver TO `${engineers}`;
GRANT USE SCHEMA, SELECT, MODIFY, CREATE TABLE ON SCHEMA ${catalog}.${schema_prefix}gold TO `${engineers}`;
GRANT USE SCHEMA, SELECT, MODIFY, CREATE TABLE ON SCHEMA ${catalog}.${schema_prefix}ops TO `${engineers}`;

-- Make sure nothing was granted to analysts below gold (REVOKE is a no-op when not granted).
REVOKE ALL PRIVILEGES ON SCHEMA ${catalog}.${schema_prefix}bronze FROM `${analysts}`;
REVOKE ALL PRIVILEGES ON SCHEMA ${catalog}.${schema_prefix}silver FROM `${analysts}`;
REVOKE ALL PRIVILEGES ON SCHEMA ${catalog}.${schema_prefix}ops FROM `${analysts}`;
