package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A stanza's repo (or pgdata) written as a relative path named a directory below wherever
 * pgstrata ran: wal setup --apply, run from the user's shell, created the repository there and
 * wrote an archive_command with --stanza, whose push runs in the data directory and looked for
 * the repository below that; check then said archive_command archives into "backups" and failed
 * with 41. Such a file is refused, with nothing applied.
 */
class StanzaRelativePathTest extends PgTest {
    @Test
    void relativeRepoOrPgdataInTheFile_isRefusedInOneLine_andNothingIsApplied() throws Exception {
        LocalCluster c = pg.track(PgSupport.facade().clusterInit(dir.resolve("data"), LocalCluster.freePort(), 17, null, null));
        c.start();
        String relative = "rel-repo-" + ProcessHandle.current().pid();
        Path conf = PgSupport.stanzaFile(dir.resolve("pgstrata.conf"), relative, c.pgdata(), PgSupport.conn(c).port());
        try {
            CliRun r = CliRun.run("wal", "setup", "--apply", "-q", "--stanza", "main", "--config", conf.toString());
            assertThat(r.exitCode()).as(r.out() + r.err()).isEqualTo(2);
            assertThat(r.errLines()).hasSize(1);
            assertThat(r.err()).contains(conf + ":2: 'repo' in [global] is a relative path");
            assertThat(PgSupport.queryString(c, "SHOW archive_command")).doesNotContain("wal push");
            assertThat(Path.of(relative)).doesNotExist();
        } finally {
            PgSupport.deleteTree(Path.of(relative).toAbsolutePath());
        }

        // pgdata too: check would read another directory from each working directory.
        PgSupport.stanzaFile(conf, dir.resolve("repo"), "data", PgSupport.conn(c).port());
        CliRun check = CliRun.run("check", "-q", "--stanza", "main", "--config", conf.toString());
        assertThat(check.exitCode()).as(check.err()).isEqualTo(2);
        assertThat(check.err()).contains(conf + ":5: 'pgdata' in [main] is a relative path");
    }
}
