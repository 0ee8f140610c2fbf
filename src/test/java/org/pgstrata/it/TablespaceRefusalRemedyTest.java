package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.postgres.Lsn;

/**
 * The remedy a refused CREATE TABLESPACE names must work. The refusal said "restore to a target
 * before X (--target-lsn)", X the record's position; but recovery to an LSN target replays the
 * first record at or after it, so a --target-lsn just before X replays the creation and was
 * refused again with the same advice; and --target-lsn X --target-inclusive false, which stops
 * before X, was refused too (the bound was taken as inclusive).
 */
class TablespaceRefusalRemedyTest extends PgTest {

    @Test
    void theTargetTheRefusalNames_restores_andAnExclusiveTargetAtTheRecordIsNotRefused() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.archiving("source", repo);
        PgSupport.sql(source, "CREATE TABLE a WITH (autovacuum_enabled = off) AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 2000) g");
        CliBackups.backupId(repo, source, "full");
        PgSupport.sql(source, "UPDATE a SET v = 'after the backup' WHERE id % 10 = 0");
        Map<String, ContentChecksum.Result> beforeTablespace = ClusterContent.of(source);

        Path location = Files.createDirectory(dir.resolve("late ts"));
        PgSupport.sql(source, "CREATE TABLESPACE late LOCATION '" + location + "'",
                "CREATE TABLE lt WITH (autovacuum_enabled = off) TABLESPACE late AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g",
                "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);
        PgSupport.sql(source, "CHECKPOINT");
        Map<String, String> sourceFiles = PgSupport.snapshot(location);

        CliRun latest = restore("latest", "--target", "latest");
        assertThat(latest.exitCode()).as(latest.err()).isEqualTo(34);
        Matcher at = Pattern.compile("\\(record at (\\d+/[0-9A-F]+)\\)").matcher(latest.err());
        assertThat(at.find()).as(latest.err()).isTrue();
        Lsn record = Lsn.parse(at.group(1));

        // "A target before X": just before it, recovery still replays the record (the first at or after the target)
        CliRun justBefore = restore("just-before", "--target-lsn", new Lsn(record.value() - 8).toString());
        assertThat(justBefore.exitCode()).as(justBefore.err()).isEqualTo(34);
        assertThat(justBefore.errLines()).singleElement().asString().contains("creates tablespace", location.toString());
        // ... and what it says to do instead must work
        Matcher remedy = Pattern.compile("--target-lsn (\\d+/[0-9A-F]+)((?: --target-inclusive false)?)").matcher(justBefore.err());
        assertThat(remedy.find()).as("a target the hint names: " + justBefore.err()).isTrue();
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("--target-lsn", remedy.group(1)));
        if (!remedy.group(2).isEmpty()) {
            args.addAll(java.util.List.of("--target-inclusive", "false"));
        }
        CliBackups.Restored hinted = CliBackups.restore(pg, repo, dir.resolve("hinted"), 17, args.toArray(String[]::new));
        assertThat(ClusterContent.of(hinted.cluster())).isEqualTo(beforeTablespace);
        hinted.cluster().stop();

        // Stopping before the record (exclusive) does not replay it: not refused
        CliBackups.Restored exclusive = CliBackups.restore(pg, repo, dir.resolve("exclusive"), 17, "--target-lsn", record.toString(),
                "--target-inclusive", "false");
        assertThat(ClusterContent.of(exclusive.cluster())).isEqualTo(beforeTablespace);
        assertThat(ClusterContent.amcheck(exclusive.cluster())).isEmpty();
        try (var links = Files.list(dir.resolve("exclusive").resolve("pg_tblspc"))) {
            assertThat(links.toList()).as("the copy's tablespace links").isEmpty();
        }
        assertThat(PgSupport.snapshot(location)).as("the source's tablespace files").isEqualTo(sourceFiles);
    }

    private CliRun restore(String name, String... target) {
        Path copy = dir.resolve(name);
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("restore", "--repo", dir.resolve("repo").toString(), "--to",
                copy.toString(), "--start", "--port", Integer.toString(LocalCluster.freePort())));
        args.addAll(java.util.List.of(target));
        CliRun r = CliRun.run(args.toArray(String[]::new));
        if (Files.isRegularFile(copy.resolve("PG_VERSION"))) {
            pg.trackRestored(copy, 17);
        }
        return r;
    }
}
