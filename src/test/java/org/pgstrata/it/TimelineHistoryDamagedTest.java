package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;

/**
 * An archived timeline history file whose bytes were damaged is damage in the repository: exit 15
 * in one line that names the file, from restore, info and expire (which removes nothing), and
 * verify names it. status said UNKNOWN (it could not read the repository) and ran no check; it is
 * CRITICAL, as for a missing segment.
 */
class TimelineHistoryDamagedTest extends PgTest {

    @Test
    void aDamagedHistoryFile_isDamage_exit15_andStatusIsCritical() throws Exception {
        Path repo = TimelineHistoryMissingTest.repositoryWithTimeline2(pg, dir);
        List<Path> history;
        try (Stream<Path> all = Files.walk(repo)) {
            history = all.filter(p -> p.getFileName().toString().startsWith("00000002.history")).toList();
        }
        assertThat(history).hasSize(1);
        ManifestTrustTest.flipAByte(history.get(0));

        Path target = dir.resolve("r");
        CliRun restore = CliRun.run("restore", "--repo", repo.toString(), "--to", target.toString(), "--target", "latest",
                "--target-timeline", "2");
        assertThat(restore.exitCode()).as(restore.err()).isEqualTo(15);
        assertThat(restore.err().lines().filter(l -> l.startsWith("pgstrata: error:"))).as(restore.err()).singleElement().asString()
                .contains("00000002.history");
        assertThat(target).doesNotExist();

        CliRun info = CliRun.run("info", "--repo", repo.toString());
        assertThat(info.exitCode()).as(info.out() + info.err()).isEqualTo(15);
        assertThat(info.err()).contains("00000002.history");

        CliRun expire = CliRun.run("expire", "--repo", repo.toString(), "--retain-full", "1");
        assertThat(expire.exitCode()).as(expire.err()).isEqualTo(15);
        assertThat(expire.err()).contains("00000002.history").contains("nothing was removed");

        CliRun status = CliRun.run("status", "--repo", repo.toString());
        assertThat(status.exitCode()).as(status.out()).isEqualTo(2);
        assertThat(status.out()).startsWith("PGSTRATA CRITICAL - " + repo + ": the archived WAL is damaged: ").contains("00000002.history");

        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.out() + verify.err()).isNotZero().isNotEqualTo(22);
        assertThat(verify.out() + verify.err()).contains("00000002.history");
    }
}
