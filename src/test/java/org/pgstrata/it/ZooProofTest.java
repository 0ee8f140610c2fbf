package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.util.EnumSet;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * The proofs the zoo's restores are held to can fail: one tiny UPDATE on a restored copy makes
 * both the content proof and the pg_dump comparison name exactly that row, while what a correct
 * restore legitimately changes (the physical order of rows, a table rewritten) changes neither.
 * And each part of the proof sees what the others do not: a large object, a sequence, a database
 * setting reach only pg_dump; an unlogged table's rows only the zoo's own count.
 */
class ZooProofTest extends PgTest {

    @Test
    void aTinyUpdate_changesTheContentProofAndThePgDumpComparison_whileARewriteChangesNeither() throws Exception {
        int major = LogicalSupport.serverMajor();
        LocalCluster source = pg.start("source", major);
        Zoo zoo = Zoo.build(source, Files.createDirectories(dir.resolve("tablespace")), EnumSet.noneOf(Zoo.Feature.class));
        Zoo.State atBackup = zoo.clusterState(source);
        String id = CliBackups.backup(dir.resolve("repo"), source, "full").get("id").asText();
        LocalCluster restored = CliBackups.restore(pg, dir.resolve("repo"), dir.resolve("restored"), major, "--backup", id).cluster();
        assertThat(Zoo.physicalDifferences(atBackup, zoo.clusterState(restored), false)).as("a faithful restore").isEmpty();

        // One row, one column, one unit.
        zoo.exec(restored, Zoo.MAIN, "UPDATE items SET n = n + 1 WHERE id = 1234");
        Zoo.State changed = zoo.clusterState(restored);
        List<String> differences = Zoo.physicalDifferences(atBackup, changed, false);
        assertThat(differences).as("what the proof says about one changed value").hasSize(2);
        assertThat(differences.get(0)).startsWith("content of database " + Zoo.MAIN + " differ: public.items: source 2000 rows ")
                .doesNotContain(";"); // items alone
        assertThat(differences.get(1)).startsWith("pg_dump: 1 line(s) of the source's dump missing from the restore's")
                .contains("  - 1234\t").contains("1 line(s) in the restore's dump that the source's lacks").contains("  + 1234\t");

        // Back to the same values, in another place on the page and with a dead row behind: the same content.
        zoo.exec(restored, Zoo.MAIN, "UPDATE items SET n = n - 1 WHERE id = 1234");
        assertThat(Zoo.physicalDifferences(atBackup, zoo.clusterState(restored), false)).as("the update undone").isEmpty();
        // What a correct restore may differ in: rows in another physical order, tables rewritten into new files.
        zoo.exec(restored, Zoo.MAIN, "CLUSTER items USING \"items lower ü\"", "ALTER TABLE items SET WITHOUT CLUSTER", "VACUUM FULL docs",
                "UPDATE animals SET name = name",
                "WITH d AS (DELETE FROM log_lines RETURNING *) INSERT INTO log_lines SELECT * FROM d ORDER BY md5(line || at)");
        assertThat(Zoo.physicalDifferences(atBackup, zoo.clusterState(restored), false)).as("after rewrites that keep every value").isEmpty();

        // What only pg_dump sees: a large object's bytes, a sequence, a database setting, a comment.
        var content = ClusterContent.of(restored);
        String dump = Dumps.cluster(restored);
        for (String change : List.of("SELECT lo_put(60001, 10, '\\x00')", "SELECT nextval('items_id_seq')",
                "ALTER DATABASE " + Zoo.q(Zoo.MAIN) + " SET work_mem = '7MB'", "COMMENT ON TABLE docs IS 'a new comment'")) {
            zoo.exec(restored, Zoo.MAIN, change);
            var contentAfter = ClusterContent.of(restored);
            String dumpAfter = Dumps.cluster(restored);
            assertThat(contentAfter).as("the content proof after %s", change).isEqualTo(content);
            assertThat(Dumps.differences(dump, dumpAfter, 5)).as("pg_dump after %s", change).isNotEmpty();
            content = contentAfter;
            dump = dumpAfter;
        }

        // What only the zoo's own count sees: the unlogged tables (pg_dumpall leaves their rows out, the content proof skips them).
        var unlogged = Zoo.unlogged(restored, ClusterContent.databases(restored, false));
        zoo.exec(restored, Zoo.MAIN, "INSERT INTO scratch (v) VALUES ('one more')");
        assertThat(Dumps.cluster(restored)).isEqualTo(dump);
        assertThat(ClusterContent.of(restored)).isEqualTo(content);
        assertThat(Zoo.unlogged(restored, ClusterContent.databases(restored, false))).isNotEqualTo(unlogged);
    }

    @Test
    void theDumpNormalisation_removesOnlyWhatARestoreLegitimatelyChanges() {
        String dump = String.join("\n", "\\restrict abc", "CREATE TABLESPACE \"t s\" OWNER postgres LOCATION '/src/ts dir';",
                "COPY public.t (id, b, a) FROM stdin;", "2\tx\ty", "1\tz\tw", "\\.", "SELECT pg_catalog.setval('public.s', 41, true);",
                "\\connect -reuse-previous=on \"dbname='zoo db'\"", "ALTER DATABASE \"zoo db\" SET work_mem TO '3MB';", "\\unrestrict abc");
        String cluster = Dumps.normalise(dump, null);
        assertThat(cluster.split("\n")).containsExactly("\\restrict (key)",
                "CREATE TABLESPACE \"t s\" OWNER postgres LOCATION '(where the cluster keeps it)';", "COPY public.t (id, b, a) FROM stdin;",
                "1\tz\tw", "2\tx\ty", "\\.", "SELECT pg_catalog.setval('public.s', 41, true);",
                "\\connect -reuse-previous=on \"dbname='zoo db'\"", "ALTER DATABASE \"zoo db\" SET work_mem TO '3MB';", "\\unrestrict (key)");
        String database = Dumps.normalise(dump, "zoo db");
        assertThat(database.split("\n")).contains("COPY public.t (a, b, id) FROM stdin;", "w\tz\t1", "y\tx\t2",
                "ALTER DATABASE \"(the database)\" SET work_mem TO '3MB';").noneMatch(l -> l.startsWith("\\connect"));
        assertThat(Dumps.withoutSequenceValues(cluster)).contains("SELECT pg_catalog.setval('public.s', (value), true);");
        // A changed value, or a changed setting, still shows.
        assertThat(Dumps.differences(Dumps.normalise(dump, null), Dumps.normalise(dump.replace("2\tx\ty", "2\tx\tY"), null), 3)).isNotEmpty();
        assertThat(Dumps.differences(database, Dumps.normalise(dump.replace("'3MB'", "'4MB'"), "zoo db"), 3)).isNotEmpty();
    }
}
