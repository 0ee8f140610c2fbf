package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;

/**
 * A server whose environment names no UTF-8 locale (systemd without /etc/locale.conf, a container
 * without LANG, LC_ALL=C) runs archive_command and restore_command under C, where Java 17 reads
 * arguments and file names as ASCII. The launchers give the JVM a UTF-8 character type, but the
 * commands that wal setup and restore write from a checkout run java itself: every push into a
 * repository named with any other character failed ("internal error: InvalidPathException", exit
 * 70) and PostgreSQL kept the WAL and retried for ever; restore_command failed the same way.
 */
class ArchiveUnderCLocaleTest extends PgTest {
    private static final Map<String, String> C_LOCALE = Map.of("LC_ALL", "C", "LANG", "C", "LC_CTYPE", "C");

    @Test
    void aServerUnderTheCLocale_archivesIntoAndRecoversFromARepositoryWithAccents() throws Exception {
        Path repo = dir.resolve("d\u00e9p\u00f4t \u96ea");
        LocalCluster source = pg.start("source", 17);
        int port = PgSupport.conn(source).port();
        source.stop();
        CliBackups.ok("wal", "setup", "-q", "--apply", "--repo", repo.toString(), "--pgdata", source.pgdata().toString(), "--port",
                Integer.toString(port));
        source.start(port, C_LOCALE);
        try (Connection c = PgSupport.connect(source)) {
            Books.init(c);
            Books.populate(c, 2_000, 2_000, 1, Progress.NONE);
            Db.execute(c, "SELECT pg_switch_wal()");
        }
        PathsAreDataTest.waitUntilArchived(source);
        CliBackups.backup(repo, source, "full");
        try (Connection c = PgSupport.connect(source)) {
            Books.mutate(c, 100, 100, 50, 2);
        }
        Map<String, ContentChecksum.Result> latest = ClusterContent.of(source);
        PgSupport.sql(source, "SELECT pg_switch_wal()");
        PathsAreDataTest.waitUntilArchived(source);

        // The copy's recovery, under C too, fetches the WAL after the backup through restore_command.
        Path target = dir.resolve("copy");
        CliBackups.ok("restore", "-q", "--repo", repo.toString(), "--to", target.toString(), "--target", "latest");
        LocalCluster copy = pg.trackRestored(target, 17);
        copy.start(LocalCluster.freePort(), C_LOCALE);
        PgSupport.awaitReadWrite(copy, 300);
        assertThat(ClusterContent.of(copy)).isEqualTo(latest);
        assertThat(ClusterContent.amcheck(copy)).isEmpty();
    }
}
