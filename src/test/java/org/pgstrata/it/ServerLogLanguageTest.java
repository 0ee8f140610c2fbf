package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;

/**
 * pgstrata reads the log of the servers it starts (a restore's, a drill's) to tell where recovery
 * stopped, whether a server that exited shut down at its target, and whether its disk is full.
 * The log is in the language of the server's messages: a DBA whose shell says LANGUAGE=de (as
 * Ubuntu sets it) got a server that logs in German, and a restore to a shutdown target that
 * could not say where it stopped, or that failed because the log did not say "shut down".
 * Debian's PostgreSQL 15 carries its translations; the bundled servers carry none.
 */
class ServerLogLanguageTest extends PgTest {
    private static final Path DEBIAN_BIN = Path.of("/usr/lib/postgresql/15/bin");

    @Test
    void aRestoreToAShutdownTarget_underAGermanEnvironment_saysWhereRecoveryStopped() throws Exception {
        assertThat(DEBIAN_BIN.resolve("postgres")).as("Debian's postgresql-15 (.ci/run installs it)").exists();
        assertThat(Path.of("/usr/share/locale/de/LC_MESSAGES/postgres-15.mo")).as("its German messages").exists();
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.track(PgSupport.facade().clusterInit(dir.resolve("source"), LocalCluster.freePort(), 15, DEBIAN_BIN,
                repo.toString()));
        source.start();
        // A cluster made under a German locale has lc_messages = 'de_DE.UTF-8'; this machine has only C.UTF-8, under which
        // gettext follows LANGUAGE (under plain C it would not translate)
        PgSupport.sql(source, "ALTER SYSTEM SET lc_messages = 'C.UTF-8'", "SELECT pg_reload_conf()");
        String lsn = ShutdownTarget.prepare(source, repo);

        Path copy = dir.resolve("copy");
        Path log = dir.resolve("restore.log");
        Process restore = ChildCli.startLogged(Map.of("LANGUAGE", "de", "LC_ALL", "C.UTF-8"), log, "restore", "--repo", repo.toString(),
                "--to", copy.toString(), "--target-lsn", lsn, "--target-action", "shutdown", "--start", "--pg-bin", DEBIAN_BIN.toString(),
                "--port", Integer.toString(LocalCluster.freePort()), "--json");
        try {
            assertThat(restore.waitFor(300, TimeUnit.SECONDS)).isTrue();
        } finally {
            ChildCli.kill(restore);
        }
        String out = Files.readString(log);
        assertThat(restore.exitValue()).as(out).isZero();
        JsonNode result = new ObjectMapper().readTree(out.substring(out.indexOf('{')));
        ShutdownTarget.check(result, out, lsn, pg.track(new LocalCluster(copy, PgBinaries.resolve(DEBIAN_BIN, 15, PgSupport.env()))));
    }
}
