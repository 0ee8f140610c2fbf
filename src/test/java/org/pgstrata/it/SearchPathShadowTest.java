package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.LogicalBackupRequest;
import org.pgstrata.db.LocalCluster;

/**
 * The owner of a database may set its search_path (ALTER DATABASE ... SET search_path) and put
 * functions in a schema of its own ahead of pg_catalog. pgstrata connects to that database as a
 * superuser (a logical backup must; a physical backup may, through --dbname): the functions its
 * own SQL calls must be the server's, never the owner's, or the owner runs code as a superuser.
 */
class SearchPathShadowTest extends PgTest {

    @Test
    void backupsOfADatabaseWhoseOwnerShadowsFunctions_runNoneOfTheOwnersCode() throws Exception {
        LocalCluster source = pg.start("source", LogicalSupport.serverMajor());
        PgSupport.sql(source, "CREATE ROLE mallory LOGIN", "CREATE DATABASE shop OWNER mallory");
        String escalate = "BEGIN IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) "
                + "AND pg_catalog.current_setting('transaction_read_only') = 'off' THEN EXECUTE 'ALTER ROLE mallory SUPERUSER'; END IF; RETURN pg_catalog.%s(); END";
        LogicalSupport.sql(source, "shop", "SET ROLE mallory", "CREATE SCHEMA trap",
                "CREATE FUNCTION trap.current_database() RETURNS name LANGUAGE plpgsql AS $$" + escalate.formatted("current_database") + "$$",
                "CREATE FUNCTION trap.pg_backend_pid() RETURNS int LANGUAGE plpgsql AS $$" + escalate.formatted("pg_backend_pid") + "$$",
                "ALTER DATABASE shop SET search_path = trap, pg_catalog, public",
                "CREATE TABLE public.t (id int PRIMARY KEY, v text)",
                "INSERT INTO public.t SELECT g, md5(g::text) FROM generate_series(1, 100) g");
        Path repo = dir.resolve("repo");

        PgSupport.facade().logicalBackup(new LogicalBackupRequest(repo.toString(), LogicalSupport.conn(source, "shop"), BackupType.FULL,
                Compression.ZSTD, 1, null));
        assertThat(PgSupport.queryString(source, "SELECT rolsuper::text FROM pg_roles WHERE rolname = 'mallory'"))
                .as("mallory after a logical backup of shop").isEqualTo("false");

        Path physical = dir.resolve("physical");
        PgSupport.facade().backup(new BackupRequest(physical.toString(), source.pgdata(), LogicalSupport.conn(source, "shop"), BackupType.FULL,
                Compression.ZSTD, 1, 0));
        assertThat(PgSupport.queryString(source, "SELECT rolsuper::text FROM pg_roles WHERE rolname = 'mallory'"))
                .as("mallory after a physical backup through shop").isEqualTo("false");
    }

    /**
     * A logical restore recreates the database's own functions, then runs pgstrata's SQL in it: a
     * function in public that matches better than the server's (format(text, name, text) against
     * format(text, VARIADIC "any")) must not run there either.
     */
    @Test
    void aLogicalRestoreOfADatabaseWithABetterMatchingFunction_runsNoneOfIt() throws Exception {
        LocalCluster source = pg.start("source", LogicalSupport.serverMajor());
        PgSupport.sql(source, "CREATE ROLE mallory LOGIN", "CREATE DATABASE shop OWNER mallory");
        LogicalSupport.sql(source, "shop", "SET ROLE mallory",
                "CREATE FUNCTION public.format(text, name, text) RETURNS text LANGUAGE plpgsql AS $$BEGIN "
                        + "IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) "
                        + "AND pg_catalog.current_setting('transaction_read_only') = 'off' THEN EXECUTE 'ALTER ROLE mallory SUPERUSER'; END IF; "
                        + "RETURN pg_catalog.format($1, $2, $3); END$$",
                "COMMENT ON DATABASE shop IS 'the shop'",
                "CREATE TABLE public.t (id int PRIMARY KEY, v text)",
                "INSERT INTO public.t SELECT g, md5(g::text) FROM generate_series(1, 100) g");
        Path repo = dir.resolve("repo");
        var full = PgSupport.facade().logicalBackup(new LogicalBackupRequest(repo.toString(), LogicalSupport.conn(source, "shop"), BackupType.FULL,
                Compression.ZSTD, 1, null));
        PgSupport.facade().logicalRestore(new org.pgstrata.api.LogicalRestoreRequest(repo.toString(), full.id(), PgSupport.conn(source),
                "copy", true, false, null, 1, null, false, false));
        assertThat(PgSupport.queryString(source, "SELECT rolsuper::text FROM pg_roles WHERE rolname = 'mallory'"))
                .as("mallory after a logical restore of shop").isEqualTo("false");
        assertThat(PgSupport.queryString(source, "SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = 'copy'"))
                .isEqualTo("the shop");
    }
}
