package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Connection;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.RecoveryTarget;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * A --target-time with a zone word (an abbreviation such as EST or CET, or a region such as
 * Europe/Berlin) names the instant that PostgreSQL reads in it. Java read EST in July as -04, IST
 * as India and BST as UTC, and a time that occurs twice in the autumn as summer time: the point
 * restored was hours away from the point named.
 */
class TargetTimeZoneWordsTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster source;
    static Path repo;
    static ContentChecksum.Result afterA;
    static Instant timeA;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        repo = dir.resolve("repo");
        source = pg.archivingBooks("source", repo, 500, 500);
        PgSupport.fullBackup(repo, source);
        try (Connection c = PgSupport.connect(source)) {
            Books.mutate(c, 0, 50, 0, 2); // change A
            afterA = ContentChecksum.compute(c);
            Thread.sleep(20);
            timeA = Instant.parse(Db.queryString(c, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"));
            Thread.sleep(20);
            Books.mutate(c, 0, 50, 0, 3); // change B, after the target
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(source);
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    @Test
    void everyZoneWordAccepted_namesTheInstantPostgresReadsInIt() throws Exception {
        String[] words = {"UTC", "GMT", "EST", "EDT", "CST", "PST", "PDT", "CET", "CEST", "EET", "BST", "IST", "JST", "AEST", "ACST",
            "Europe/Berlin", "America/New_York", "Asia/Kolkata"};
        String[] locals = {"2026-01-15 12:00:00", "2026-07-15 12:00:00.25",
            "2026-10-25 02:30:00", "2026-11-01 01:30:00", // each occurs twice, in Berlin and in New York
            "2026-03-29 02:30:00", "2026-03-08 02:30:00"}; // each never occurs there (clocks set forward)
        try (Connection c = PgSupport.connect(source)) {
            Db.execute(c, "SET timezone = 'UTC'");
            for (String word : words) {
                for (String local : locals) {
                    String text = local + " " + word;
                    Instant expected = Instant.parse(Db.queryString(c,
                            "SELECT to_char('" + text + "'::timestamptz, 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')"));
                    assertThat(RecoveryTarget.parseTime(text)).as(text).isEqualTo(expected);
                }
            }
        }
    }

    @Test
    void aZoneWordPgstrataCannotReadAsPostgresDoes_isRefused() {
        assertThatThrownBy(() -> new RecoveryTarget(RecoveryTarget.Type.TIME, "2026-07-15 12:00:00 XYZT", true, "latest", "promote"))
                .isInstanceOfSatisfying(PgstrataException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.USAGE))
                .hasMessageContaining("XYZT");
    }

    @Test
    void restoreToATimeInDaylightSavingAbbreviation_givesTheContentAtThatTime() throws Exception {
        // EDT is -04 all year for PostgreSQL; Java read it as -05 in winter, an hour after the end of the archive.
        String edt = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSSSSS").format(timeA.atOffset(ZoneOffset.ofHours(-4))) + " EDT";
        RestoreResult r = PgSupport.facade().restore(new RestoreRequest(repo.toString(), dir.resolve("edt"), null, true,
                LocalCluster.freePort(), null, 2, new RecoveryTarget(RecoveryTarget.Type.TIME, edt, true, "latest", "promote")));
        pg.trackRestored(r.target(), 17);
        LocalCluster c = new LocalCluster(r.target(), PgBinaries.resolve(null, 17, PgSupport.env()));
        try (Connection conn = PgSupport.connect(c)) {
            assertThat(ContentChecksum.compute(conn)).isEqualTo(afterA);
        }
        c.stop();
    }
}
