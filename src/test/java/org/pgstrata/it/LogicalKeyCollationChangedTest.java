package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A differential deletes the keys it recorded as deleted from the full's rows with the key
 * column's own "=", under the column's collation as the differential's schema has it. A key
 * column that became case-insensitive since the full (ALTER COLUMN ... TYPE text COLLATE a
 * nondeterministic collation, once the duplicates in case were cleaned up) made the delete of
 * 'ABC@x' take 'abc@x' with it: the restore succeeded and the row was gone. Such a table is
 * stored whole.
 */
class LogicalKeyCollationChangedTest extends PgTest {
    @Test
    void keyCollationChangedSinceTheFull_deletesNoOtherRow() throws Exception {
        LocalCluster server = pg.start("server", LogicalSupport.serverMajor());
        Path repo = dir.resolve("repo");
        PgSupport.sql(server, "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)",
                "CREATE TABLE account (email text PRIMARY KEY, v text)",
                "INSERT INTO account SELECT 'user' || g || '@x', 'v' || g FROM generate_series(1, 20) g",
                "INSERT INTO account VALUES ('USER1@x', 'dup'), ('User2@X', 'dup')");
        CliBackups.logicalBackup(repo, server, "postgres", "full");
        PgSupport.sql(server, "DELETE FROM account WHERE email = 'USER1@x'", "UPDATE account SET email = 'moved@x' WHERE email = 'User2@X'",
                "ALTER TABLE account ALTER COLUMN email TYPE text COLLATE ci");
        ContentChecksum.Result atDiff = LogicalSupport.proof(server, "postgres");
        CliRun diff = LogicalSupport.differentialRestored(server, repo);
        assertThat(diff.out()).contains("stored whole: public.account: ");
        PgSupport.sql(server, "CREATE DATABASE one");
        LogicalSupport.sql(server, "one", "CREATE COLLATION ci (provider = icu, locale = 'und-u-ks-level2', deterministic = false)");
        CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--port", CliBackups.port(server), "--to-db", "one",
                "--table", "account");
        assertThat(r.exitCode()).as(r.err()).isZero();
        assertThat(LogicalSupport.proof(server, "one").tables()).as("rows of --table account").containsExactlyElementsOf(atDiff.tables());
    }
}
