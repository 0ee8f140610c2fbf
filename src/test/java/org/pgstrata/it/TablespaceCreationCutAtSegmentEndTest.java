package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.TablespaceCreations;
import org.pgstrata.postgres.WalFileName;

/**
 * A CREATE TABLESPACE record that runs from one segment into the next, where the next is archived
 * only after recovery fetched the first: a standby fed by restore_command (wal get) on the
 * source's machine. wal get read the first segment without the record's end (the next segment
 * was not archived yet) and let it through; the next segment starts inside the record, and its
 * scan skipped the rest of it. The copy then replayed the creation into the source's tablespace.
 */
class TablespaceCreationCutAtSegmentEndTest extends PgTest {
    private static final long SEG = 16L * 1024 * 1024;

    @Test
    void aCreationCutAtASegmentsEnd_whoseNextSegmentIsArchivedLater_isStillRefused() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.archiving("source", repo);
        PgSupport.sql(source, "CREATE TABLE a AS SELECT g AS id FROM generate_series(1, 2000) g");
        CliBackups.backupId(repo, source, "full");

        // A standby of the source, on the same machine, fed from the archive by pgstrata's restore_command
        Path copy = dir.resolve("copy");
        CliRun restored = CliRun.run("restore", "--repo", repo.toString(), "--to", copy.toString(), "--target", "latest", "--port", Integer.toString(LocalCluster.freePort()));
        assertThat(restored.exitCode()).as(restored.err()).isZero();
        Files.writeString(copy.resolve("standby.signal"), "");
        Files.writeString(copy.resolve("postgresql.auto.conf"), "\nwal_retrieve_retry_interval = '200ms'\n", java.nio.file.StandardOpenOption.APPEND);
        LocalCluster standby = pg.trackRestored(copy, 17);
        standby.start();

        CutCreation made = createAcrossSegmentEnd(source, dir);
        TablespaceCreations.Creation cut = made.creation();
        Path location = made.location();
        PitrTest.waitForArchive(source); // the first segment; the next one is still being written
        // The standby has replayed up to the record, and fetched the first segment without its end
        waitFor(() -> !standby.postmasterAlive() || "t".equals(PgSupport.queryString(standby, "SELECT pg_last_wal_replay_lsn() + 8 > '"
                + TablespaceCreationsHolder.lsn + "'")), "the standby's replay up to the creation " + TablespaceCreationsHolder.lsn);

        PgSupport.sql(source, "CREATE TABLE lt TABLESPACE late AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 5000) g",
                "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);
        String end = PgSupport.queryString(source, "SELECT pg_current_wal_lsn()::text");
        waitFor(() -> !standby.postmasterAlive() || "t".equals(PgSupport.queryString(standby, "SELECT pg_last_wal_replay_lsn() >= '"
                + end + "'::pg_lsn - 64")), "the standby's end: stopped, or replayed past the creation");
        Map<String, ContentChecksum.Result> sourceContent = ClusterContent.of(source);
        PgSupport.sql(source, "CHECKPOINT");
        Map<String, String> sourceFiles = PgSupport.snapshot(location);
        List<Path> links;
        try (var l = Files.list(copy.resolve("pg_tblspc"))) {
            links = l.toList();
        }
        if (standby.postmasterAlive()) {
            // What the copy can do to the source once promoted: its DROP TABLE removes the source's file
            PgSupport.queryString(standby, "SELECT pg_promote()");
            PgSupport.sql(standby, "DROP TABLE lt", "CHECKPOINT");
        }
        assertThat(ClusterContent.of(source)).as("the source's content").isEqualTo(sourceContent);
        assertThat(PgSupport.snapshot(location)).as("the source's tablespace files").isEqualTo(sourceFiles);
        assertThat(links).as("the copy's tablespace links").isEmpty();
        assertThat(standby.serverLogLine("holds another cluster's tablespace")).as(standby.serverLogTail())
                .contains("creates tablespace", location.toString(), cut.lsn().toString());
    }

    /** A CREATE TABLESPACE (named late) whose record runs across a segment's end, and its location. */
    record CutCreation(TablespaceCreations.Creation creation, Path location) {
    }

    /**
     * Creates tablespace late at a location of its own under {@code dir}, in a record that starts
     * in one segment and ends in the next: a location long enough that the record is ~900 bytes,
     * WAL written up to just before a segment's end, then the creation. Each attempt has a
     * location of its own: one that missed is dropped, its directory emptied, and replaying it
     * harms no one.
     */
    static CutCreation createAcrossSegmentEnd(LocalCluster source, Path dir) throws Exception {
        Path base = dir;
        for (char c : "wxy".toCharArray()) {
            base = base.resolve(String.valueOf(c).repeat(200));
        }
        Files.createDirectories(dir.resolve("warm"));
        PgSupport.sql(source, "CREATE TABLESPACE warm LOCATION '" + dir.resolve("warm") + "'", "DROP TABLESPACE warm"); // no page images later
        TablespaceCreations.Creation cut = null;
        Path location = null;
        for (int attempt = 0; attempt < 6 && cut == null; attempt++) {
            location = Files.createDirectories(base.resolve("z".repeat(199) + attempt));
            fillTo(source, 700 + 40 * attempt);
            String name = "ts" + attempt;
            PgSupport.sql(source, "CREATE TABLESPACE " + name + " LOCATION '" + location + "'");
            cut = cutCreation(source);
            if (cut == null) {
                PgSupport.sql(source, "DROP TABLESPACE " + name);
            } else {
                PgSupport.sql(source, "ALTER TABLESPACE " + name + " RENAME TO late");
            }
        }
        assertThat(cut).as("a CREATE TABLESPACE record across a segment's end").isNotNull();
        return new CutCreation(cut, location);
    }

    /** Where the creation that {@link #cutCreation} found starts, for the wait. */
    private static final class TablespaceCreationsHolder {
        static Lsn lsn;
    }

    /** WAL written (a logical message) until {@code before} bytes are left in the current segment. */
    private static void fillTo(LocalCluster c, long before) throws Exception {
        for (int i = 0; i < 3; i++) {
            long at = Lsn.parse(PgSupport.queryString(c, "SELECT pg_current_wal_insert_lsn()::text")).value();
            long left = SEG - at % SEG;
            if (left < before + 300) {
                PgSupport.sql(c, "SELECT pg_switch_wal()");
                continue;
            }
            long n = left - before - 90 - 24 * (left / 8192 + 1);
            if (n < 100) {
                return;
            }
            PgSupport.sql(c, "SELECT pg_logical_emit_message(false, 'p', repeat('x', " + n + "))");
        }
    }

    /** The last creation of the source's WAL when its record runs from one segment into the next, else null. */
    private static TablespaceCreations.Creation cutCreation(LocalCluster c) throws Exception {
        long at = Lsn.parse(PgSupport.queryString(c, "SELECT pg_current_wal_insert_lsn()::text")).value();
        long segno = at / SEG - 1;
        Path wal = c.pgdata().resolve("pg_wal");
        byte[] first = Files.readAllBytes(wal.resolve(WalFileName.segment(1, segno, SEG)));
        byte[] next = Files.readAllBytes(wal.resolve(WalFileName.segment(1, segno + 1, SEG)));
        List<TablespaceCreations.Creation> alone = TablespaceCreations.inSegment(first, segno, SEG, null, () -> null);
        List<TablespaceCreations.Creation> whole = TablespaceCreations.inSegment(first, segno, SEG, null, () -> next);
        if (whole.size() != alone.size() + 1) {
            return null;
        }
        TablespaceCreations.Creation cut = whole.get(whole.size() - 1);
        TablespaceCreationsHolder.lsn = cut.lsn();
        return cut;
    }

    interface Check {
        boolean done() throws Exception;
    }

    static void waitFor(Check check, String what) throws Exception {
        for (int i = 0; i < 600; i++) {
            try {
                if (check.done()) {
                    return;
                }
            } catch (RuntimeException | java.sql.SQLException e) {
                // the standby still starting, or stopping between the check that it runs and the query: look again
            }
            Thread.sleep(100);
        }
        throw new AssertionError("timed out waiting for " + what);
    }
}
