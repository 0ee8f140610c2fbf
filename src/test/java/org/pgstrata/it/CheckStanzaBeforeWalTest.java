package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.Self;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * An archive_command written as pgBackRest's is ({@code pgbackrest --stanza=main archive-push
 * %p}): {@code pgstrata --config FILE --stanza main wal push %p}, or with --stanza=NAME. The
 * pushes work; check read only the words after "wal push", found no repository there and failed
 * with 40 ("its arguments () name no repository").
 */
class CheckStanzaBeforeWalTest extends PgTest {
    @Test
    void check_readsTheStanzaGivenBeforeWalPush_orWithEquals() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster c = pg.archiving("data", repo);
        Path conf = PgSupport.stanzaFile(dir.resolve("pgstrata.conf"), repo, c.pgdata(), PgSupport.conn(c).port());
        String self = Self.shellCommand().replace("%", "%%");
        String q = Self.quote(conf.toString()).replace("%", "%%");
        for (String form : new String[] {" --config " + q + " --stanza main wal push %p", " --config=" + q + " --stanza=main wal push %p",
            " wal push --config=" + q + " --stanza=main %p"}) {
            String command = self + form;
            PgSupport.sql(c, "ALTER SYSTEM SET archive_command = '" + command.replace("'", "''") + "'", "SELECT pg_reload_conf()");
            CliRun check = CliRun.run("check", "-q", "--check-timeout", "30", "--stanza", "main", "--config", conf.toString());
            assertThat(check.exitCode()).as("JAVA" + form + "\n" + check.err()).isZero();
            assertThat(check.out()).contains("ok: archive_command: archive_mode is on and archive_command archives into " + repo,
                    "ok: archiving: ");
        }
        assertThat(PgSupport.queryString(c, "SELECT failed_count FROM pg_stat_archiver")).isEqualTo("0");
    }
}
