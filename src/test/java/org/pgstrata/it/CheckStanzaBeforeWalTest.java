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

    /**
     * The repository set in the command's own environment ({@code PGSTRATA_REPO=DIR pgstrata wal
     * push %p}, or through env): the pushes work, and check, which reads none of its own
     * environment for the server's command, found no repository (exit 40).
     */
    @Test
    void check_readsTheRepositoryAssignedBeforeTheCommand() throws Exception {
        Path repo = dir.resolve("repo with 'quote'");
        LocalCluster c = pg.archiving("data", repo);
        String self = Self.shellCommand().replace("%", "%%");
        String assign = "PGSTRATA_REPO=" + Self.quote(repo.toString()).replace("%", "%%");
        for (String command : new String[] {assign + " " + self + " wal push %p", "env " + assign + " " + self + " wal push %p"}) {
            PgSupport.sql(c, "ALTER SYSTEM SET archive_command = '" + command.replace("'", "''") + "'", "SELECT pg_reload_conf()");
            CliRun check = CliRun.run("check", "-q", "--check-timeout", "30", "--repo", repo.toString(), "-p",
                    Integer.toString(PgSupport.conn(c).port()));
            assertThat(check.exitCode()).as(command + "\n" + check.err()).isZero();
            assertThat(check.out()).contains("ok: archive_command: archive_mode is on and archive_command archives into " + repo,
                    "ok: archiving: ");
        }
        // Another repository assigned there is still told apart.
        String other = "PGSTRATA_REPO=" + Self.quote(dir.resolve("other").toString()) + " " + self + " wal push %p";
        PgSupport.sql(c, "ALTER SYSTEM SET archive_command = '" + other.replace("'", "''") + "'", "SELECT pg_reload_conf()");
        CliRun check = CliRun.run("check", "-q", "--check-timeout", "30", "--repo", repo.toString(), "-p",
                Integer.toString(PgSupport.conn(c).port()));
        assertThat(check.exitCode()).as(check.err()).isEqualTo(40);
        assertThat(check.out() + check.err()).contains("archive_command archives into " + dir.resolve("other") + ", not into " + repo);
        PgSupport.sql(c, "ALTER SYSTEM RESET archive_command", "SELECT pg_reload_conf()");
    }
}
