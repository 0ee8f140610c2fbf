package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.Progress;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * A cluster configured once in a stanza: wal setup, backup, list and restore given nothing but
 * --stanza and --config; archive_command names the stanza and the server's pushes find the
 * repository through the file.
 */
class StanzaConfigTest {
    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster cluster;
    static Path conf;
    static Path repo;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        PgBinaries bin = PgBinaries.resolve(null, 15, PgSupport.env());
        cluster = pg.track(LocalCluster.init(dir.resolve("src"), bin, new LocalCluster.InitOptions(LocalCluster.freePort(), null, true)));
        cluster.start();
        try (Connection c = PgSupport.connect(cluster)) {
            Books.init(c);
            Books.populate(c, 5_000, 2_000, 1, Progress.NONE);
        }
        repo = dir.resolve("repo dir");
        conf = dir.resolve("conf/pgstrata.conf");
        Files.createDirectories(conf.getParent());
        Files.writeString(conf, """
                [global]
                repo = "%s"
                compress = "zstd"

                [main]
                pgdata = "%s"
                port = %d
                host = "127.0.0.1"
                """.formatted(repo, cluster.pgdata(), PgSupport.conn(cluster).port()));
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    @Test
    void backupListRestore_withOnlyTheStanza() throws Exception {
        CliBackups.ok("wal", "setup", "--apply", "--stanza", "main", "--config", conf.toString());
        cluster.stop();
        cluster.start(); // archive_mode takes a restart
        String archiveCommand = PgSupport.queryString(cluster, "SHOW archive_command");
        assertThat(archiveCommand).contains(" wal push --config " + conf + " --stanza main %p").doesNotContain("--repo");

        // check reads archive_command's --stanza through the same file and sees a switched segment arrive
        var check = org.pgstrata.cli.CliRun.run("check", "-q", "--stanza", "main", "--config", conf.toString());
        assertThat(check.exitCode()).as(check.err()).isZero();
        assertThat(check.out()).contains("ok: archive_command: archive_mode is on and archive_command archives into " + repo);

        Map<String, ContentChecksum.Result> before = ClusterContent.of(cluster);
        // With an archive the backup completes only once its WAL is archived: by the server's archive_command, through the stanza.
        JsonNode b = CliBackups.run("backup", "-q", "--json", "--stanza", "main", "--config", conf.toString());
        assertThat(b.get("walSegments").asInt()).as("WAL taken from the archive, not copied into the backup").isZero();
        JsonNode list = CliBackups.run("list", "--json", "--stanza", "main", "--config", conf.toString());
        assertThat(list).hasSize(1);
        assertThat(list.get(0).get("id").asText()).isEqualTo(b.get("id").asText());
        assertThat(PgSupport.queryString(cluster, "SELECT failed_count FROM pg_stat_archiver")).isEqualTo("0");

        Path target = dir.resolve("restored");
        CliBackups.Restored r = CliBackups.restore(pg, null, target, 15, "--stanza", "main", "--config", conf.toString());
        assertThat(ClusterContent.of(r.cluster())).isEqualTo(before);
        assertThat(ClusterContent.amcheck(r.cluster())).isEmpty();

        // To a point in time, the restored server fetches WAL through the stanza too (credentials may live only in the file).
        Path pitr = dir.resolve("pitr");
        org.pgstrata.cli.CliRun run = org.pgstrata.cli.CliRun.run("restore", "-q", "--stanza", "main", "--config", conf.toString(), "--to",
                pitr.toString(), "--target", "latest");
        assertThat(run.exitCode()).as(run.err()).isZero();
        String restoreCommand = Files.readAllLines(pitr.resolve("postgresql.auto.conf")).stream().filter(l -> l.startsWith("restore_command"))
                .reduce((a, b2) -> b2).orElseThrow();
        assertThat(restoreCommand).contains(" wal get --config " + conf.toAbsolutePath(), " --stanza main %f %p").doesNotContain("--repo");
    }
}
