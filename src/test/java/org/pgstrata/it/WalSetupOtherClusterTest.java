package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;

/**
 * wal setup --apply changes the cluster of --pgdata and no other: a --port (PGPORT, a stanza's
 * port) that names another server on the machine is refused before ALTER SYSTEM reaches it, and
 * so is a repository that serves another cluster (its archive would refuse every segment).
 */
class WalSetupOtherClusterTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster a;
    static LocalCluster b;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        PgBinaries bin = PgBinaries.resolve(null, 15, PgSupport.env());
        a = pg.track(LocalCluster.init(dir.resolve("a"), bin, new LocalCluster.InitOptions(LocalCluster.freePort(), null, true)));
        a.start();
        b = pg.track(LocalCluster.init(dir.resolve("b"), bin, new LocalCluster.InitOptions(LocalCluster.freePort(), null, true)));
        b.start();
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    @Test
    void aPortOfAnotherServer_isRefusedAndThatServerIsLeftAlone() throws Exception {
        String before = PgSupport.queryString(b, "SHOW archive_command");
        Path repo = dir.resolve("repo-port");
        CliRun run = CliRun.run("wal", "setup", "--apply", "--repo", repo.toString(), "--pgdata", a.pgdata().toString(),
                "--host", "127.0.0.1", "--port", String.valueOf(PgSupport.conn(b).port()));
        assertThat(run.exitCode()).as(run.err()).isEqualTo(13);
        assertThat(run.err()).startsWith("pgstrata: error: ").contains("hint: ");
        assertThat(PgSupport.queryString(b, "SHOW archive_command")).isEqualTo(before);
        assertThat(Files.readString(b.pgdata().resolve("postgresql.auto.conf"))).doesNotContain("archive_command");
        assertThat(Files.readString(a.pgdata().resolve("postgresql.auto.conf"))).doesNotContain("archive_command");
    }

    @Test
    void aRepositoryOfAnotherCluster_isRefused() throws Exception {
        Path repoOfB = dir.resolve("repo-of-b");
        CliRun init = CliRun.run("repo", "init", "--repo", repoOfB.toString(), "--pgdata", b.pgdata().toString());
        assertThat(init.exitCode()).as(init.err()).isZero();
        CliRun run = CliRun.run("wal", "setup", "--apply", "--repo", repoOfB.toString(), "--pgdata", a.pgdata().toString());
        assertThat(run.exitCode()).as(run.err()).isEqualTo(11);
        assertThat(run.err()).startsWith("pgstrata: error: ").contains("belongs to the cluster");
        assertThat(Files.readString(a.pgdata().resolve("postgresql.auto.conf"))).doesNotContain("archive_command");
    }
}
