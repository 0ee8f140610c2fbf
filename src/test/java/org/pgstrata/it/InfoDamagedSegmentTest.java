package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupResult;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.postgres.Lsn;

/**
 * One damaged archived segment made {@code info} exit 15 and show nothing: not the window up to
 * it, nor the backups, nor that the damage is one segment. It is a gap now: the window ends before
 * it, it is listed among the gaps (JSON: also under damaged), one warning names it and points to
 * verify, and info exits 0, as for a damaged manifest. A restore to latest still refuses to pass it.
 */
class InfoDamagedSegmentTest extends PgTest {

    @Test
    void aDamagedSegment_endsTheWindowLikeAGap_andInfoWarnsAndShowsTheRest() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster src = pg.archivingBooks("src", repo, 2_000, 500);
        BackupResult full = PgSupport.fullBackup(repo, src);
        String damaged;
        try (Connection c = PgSupport.connect(src)) {
            Books.mutate(c, 100, 200, 50, 1);
            damaged = Db.queryString(c, "SELECT pg_walfile_name(pg_current_wal_lsn())");
            Db.execute(c, "SELECT pg_switch_wal()");
            Books.mutate(c, 100, 200, 50, 2);
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PitrTest.waitForArchive(src);
        List<Path> victims;
        try (Stream<Path> s = Files.walk(repo.resolve("archive"))) {
            victims = s.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().startsWith(damaged)).toList();
        }
        assertThat(victims).as("archived copies of " + damaged).hasSize(1);
        ManifestTrustTest.flipAByte(victims.get(0));

        CliRun info = CliRun.run("info", "--repo", repo.toString());
        assertThat(info.exitCode()).as(info.out() + info.err()).isZero();
        assertThat(info.err().lines().toList()).as(info.err()).singleElement().asString().startsWith("pgstrata: warning: ")
                .contains(damaged).contains("damaged").contains("pgstrata verify");
        assertThat(info.out()).contains(damaged + "(damaged)").contains("last proven restorable");

        CliRun json = CliRun.run("info", "--json", "--repo", repo.toString());
        assertThat(json.exitCode()).as(json.err()).isZero();
        JsonNode w = new ObjectMapper().readTree(json.out()).get(0);
        assertThat(w.get("damaged").toString()).isEqualTo("[\"" + damaged + "\"]");
        assertThat(w.get("gaps").toString()).contains(damaged);
        assertThat(w.get("backups").toString()).contains(full.id());
        Lsn latest = Lsn.parse(w.get("latestLsn").asText());
        assertThat(latest.isBefore(Lsn.parse(full.stopLsn()))).as("latest %s", latest).isFalse();
        long segmentSize = org.pgstrata.manifest.ArchiveTimelines.DEFAULT_SEGMENT_SIZE;
        assertThat(latest.value()).as("the window ends before %s: latest %s", damaged, latest)
                .isLessThanOrEqualTo(org.pgstrata.postgres.WalFileName.segmentNumber(damaged, segmentSize) * segmentSize);

        Path target = dir.resolve("r");
        CliRun restore = CliRun.run("restore", "--repo", repo.toString(), "--to", target.toString(), "--target", "latest", "--start",
                "--port", Integer.toString(LocalCluster.freePort()));
        if (Files.isRegularFile(target.resolve("PG_VERSION"))) {
            pg.trackRestored(target, 17); // stopped at the end, should it run
        }
        assertThat(restore.exitCode()).as(restore.out() + restore.err()).isNotZero();
        assertThat(restore.err()).contains(damaged);
    }
}
