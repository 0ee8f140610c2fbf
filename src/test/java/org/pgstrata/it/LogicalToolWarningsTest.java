package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * pg_dump's warnings (lines on its stderr that are not errors) reach the user, marked as
 * pg_dump's, and the backup still succeeds: a warning such as "typtype of data type ... appears to be
 * invalid" says the backup will not restore what the database holds, and was thrown away.
 */
class LogicalToolWarningsTest extends PgTest {

    @Test
    void pgDumpWarnings_reachTheUser() throws Exception {
        LocalCluster source = pg.start("source", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        LogicalSupport.sql(source, "postgres", "CREATE DATABASE app");
        LogicalSupport.sql(source, "app", "CREATE TABLE t (id int PRIMARY KEY)", "INSERT INTO t SELECT generate_series(1, 10)",
                "CREATE TYPE mood AS ENUM ('calm')",
                // a catalog changed behind the server's back: pg_dump warns that it cannot dump the type, and goes on
                "UPDATE pg_type SET typtype = 'z' WHERE typname = 'mood'");

        // in a child JVM: what the user's terminal gets, progress and warnings included
        ChildCli.Finished r = ChildCli.run(java.util.Map.of(), java.util.List.of(), 120, "backup", "--logical", "--repo", repo.toString(),
                "--host", "127.0.0.1", "--user", "postgres", "--port", CliBackups.port(source), "--dbname", "app", "--type", "full");
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("pgstrata: warning: pg_dump: warning: typtype of data type \"mood\" appears to be invalid");
    }
}
