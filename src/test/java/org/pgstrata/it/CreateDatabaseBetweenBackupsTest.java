package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A database dropped, and another made, between backups: with STRATEGY FILE_COPY (which copies
 * the template's files as they are, their page LSNs old, and logs only the copy) or WAL_LOG (which
 * logs every page), at a new OID or at the dropped database's OID ({@code CREATE DATABASE ... OID},
 * PostgreSQL 15 and later), so that the new database's files lie at the paths where the
 * reference backup holds the old one's. An incremental, a differential and reverse deltas
 * (restored by steps back) of every case restore with the content the source had, through the
 * command line, and amcheck finds nothing.
 */
class CreateDatabaseBetweenBackupsTest extends PgTest {
    private static final int MAJOR = 17;
    private static final long OLD_OID = 40_001;
    private static final String OLD = "old db ü";
    private static final String TEMPLATE = "template \"with\" rows";
    private static final String NEW = "new db 'ü'";

    enum Made {
        FILE_COPY_AT_A_NEW_OID("FILE_COPY", false), FILE_COPY_AT_THE_DROPPED_OID("FILE_COPY", true), WAL_LOG_AT_THE_DROPPED_OID("WAL_LOG", true);

        final String strategy;
        final boolean reuse;

        Made(String strategy, boolean reuse) {
            this.strategy = strategy;
            this.reuse = reuse;
        }
    }

    @ParameterizedTest
    @EnumSource(Made.class)
    void aDatabaseMadeBetweenBackups_restoresFromEveryStrategy(Made made) throws Exception {
        LocalCluster src = pg.start("source", MAJOR);
        Path repo = dir.resolve("repo");
        Path reverse = dir.resolve("reverse");
        PgSupport.sql(src, "CREATE DATABASE " + Zoo.q(TEMPLATE), "CREATE DATABASE " + Zoo.q(OLD) + " OID " + OLD_OID);
        LogicalSupport.sql(src, TEMPLATE, "CREATE TABLE kept (id int PRIMARY KEY, v text NOT NULL)",
                "INSERT INTO kept SELECT g, 'template row ' || g FROM generate_series(1, 2000) g", "CREATE INDEX ON kept (v)");
        // The old database's catalog changes after it was made: its pg_class and friends hold pages that its template's do not.
        LogicalSupport.sql(src, OLD, "CREATE TABLE gone (id int PRIMARY KEY, v text NOT NULL)",
                "INSERT INTO gone SELECT g, 'old row ' || g FROM generate_series(1, 3000) g", "CREATE INDEX ON gone (v)");
        JsonNode full = CliBackups.backup(repo, src, "full");
        Map<String, ContentChecksum.Result> atFull = ClusterContent.of(src);
        CliBackups.backup(reverse, src, "reverse");

        PgSupport.sql(src, "DROP DATABASE " + Zoo.q(OLD),
                "CREATE DATABASE " + Zoo.q(NEW) + (made.reuse ? " OID " + OLD_OID : "") + " STRATEGY " + made.strategy
                        + " TEMPLATE " + Zoo.q(TEMPLATE));
        if (made.reuse) {
            assertThat(PgSupport.queryString(src, "SELECT oid FROM pg_database WHERE datname = " + Zoo.lit(NEW))).isEqualTo(Long.toString(OLD_OID));
        }
        LogicalSupport.sql(src, NEW, "INSERT INTO kept VALUES (100000, 'added in the new database')", "UPDATE kept SET v = v || '!' WHERE id % 100 = 0");
        JsonNode incr = CliBackups.backup(repo, src, "incr");
        Map<String, ContentChecksum.Result> atIncr = ClusterContent.of(src);
        CliBackups.backup(reverse, src, "reverse");

        LogicalSupport.sql(src, NEW, "DELETE FROM kept WHERE id % 7 = 0");
        JsonNode diff = CliBackups.backup(repo, src, "diff");
        Map<String, ContentChecksum.Result> atDiff = ClusterContent.of(src);
        assertThat(atDiff).as("the source's databases at the differential").containsKey(NEW).doesNotContainKey(OLD);

        assertThat(incr.get("reference").asText()).isEqualTo(full.get("id").asText());
        assertThat(diff.get("reference").asText()).isEqualTo(full.get("id").asText());
        // Every strategy is tried, and every failure reported, not only the first.
        List<String> failures = new ArrayList<>();
        prove(repo, atIncr, "the incremental", failures, "--backup", incr.get("id").asText());
        prove(repo, atDiff, "the differential", failures, "--backup", diff.get("id").asText());
        prove(reverse, atIncr, "the newest reverse-delta point", failures, "--steps-back", "0");
        prove(reverse, atFull, "the reverse-delta point before the new database", failures, "--steps-back", "1");
        assertThat(failures).as("restores that failed after a database was made with %s", made).isEmpty();
    }

    private void prove(Path repo, Map<String, ContentChecksum.Result> expected, String what, List<String> failures, String... which) {
        Path target = dir.resolve("restore-" + System.nanoTime());
        try {
            LocalCluster restored = CliBackups.restore(pg, repo, target, MAJOR, which).cluster();
            try {
                assertThat(ClusterContent.of(restored)).as("content of the restore of %s", what).isEqualTo(expected);
                assertThat(ClusterContent.amcheck(restored)).as("amcheck of the restore of %s", what).isEmpty();
            } finally {
                restored.stopImmediately();
                PgSupport.deleteTree(target);
            }
        } catch (Exception | AssertionError e) {
            failures.add(what + ": " + e.getMessage().strip().replace('\n', ' '));
        }
    }
}
