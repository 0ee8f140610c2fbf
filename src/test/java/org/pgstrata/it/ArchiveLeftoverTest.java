package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * wal push takes no lock, so what a killed one left half-written under archive/ (a server's
 * fast shutdown signals a running archive_command) was never removed: the next backup cleans
 * backup/ and logical/ only, and verify listed the leftovers as unfinished writes for ever.
 * expire (which goes through the archive anyway) now removes those of archive/ last written more
 * than a day ago: no push of one segment takes that long, so none of them is still being written.
 */
class ArchiveLeftoverTest extends PgTest {
    @Test
    void aKilledPushesHalfWrittenSegment_aDayOld_isRemovedByExpire_aFreshOneIsKept() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.archiving("source", repo);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g FROM generate_series(1, 1000) g", "SELECT pg_switch_wal()");
        PitrTest.waitForArchive(source);
        Path archived;
        try (Stream<Path> files = Files.walk(repo.resolve("archive"))) {
            archived = files.filter(p -> p.getFileName().toString().matches("[0-9A-F]{24}.*") && Files.isRegularFile(p)).findFirst().orElseThrow();
        }
        // What FileStorage writes before its rename: NAME.PID.N.pgstrata-tmp
        Path old = archived.resolveSibling("000000010000000000000099.zst.4242.1.pgstrata-tmp");
        Path fresh = archived.resolveSibling("00000001000000000000009A.zst.4243.1.pgstrata-tmp");
        Files.write(old, new byte[] {1, 2, 3});
        Files.write(fresh, new byte[] {4, 5, 6});
        Files.setLastModifiedTime(old, FileTime.from(Instant.now().minus(Duration.ofHours(25))));

        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.out()).contains("unfinished write").contains(old.getFileName().toString());
        CliBackups.backupId(repo, source, "full");
        assertThat(old).as("a backup does not walk the archive").exists();
        CliRun expire = CliRun.run("expire", "--repo", repo.toString(), "--retain-full", "1");
        assertThat(expire.exitCode()).as(expire.err()).isZero();
        assertThat(old).as("a day old: removed").doesNotExist();
        assertThat(fresh).as("maybe still being written: kept").exists();
        CliRun after = CliRun.run("verify", "--repo", repo.toString());
        assertThat(after.exitCode()).as(after.out() + after.err()).isZero();
        assertThat(after.out()).doesNotContain(old.getFileName().toString()).contains(fresh.getFileName().toString());
        assertThat(List.of(after.out().split("\n"))).noneMatch(l -> l.startsWith("problem:"));
    }
}
