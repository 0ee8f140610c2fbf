package org.pgstrata.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** postmaster.pid as PostgreSQL writes it: values one a line, the status padded with spaces to a fixed width. */
class PostmasterPidTest {
    @TempDir
    Path pgdata;

    /**
     * A socket directory whose name ends in a space (legal, and what unix_socket_directories
     * names when quoted) was trimmed, and the socket then looked for in a directory that does not
     * exist. Only the padded status is trimmed.
     */
    @Test
    void socketDirectoryKeepsItsSpaces_statusLosesItsPadding() throws Exception {
        long pid = ProcessHandle.current().pid(); // alive, as a running server's must be
        Files.writeString(pgdata.resolve("postmaster.pid"), pid + "\n" + pgdata + "\n1764900000\n5433\n/tmp/sock dir \n 10.0.0.1\n"
                + "  5433001     32768\nready   \n");
        PostmasterPid p = PostmasterPid.ofRunning(pgdata).orElseThrow();
        assertThat(p.port()).isEqualTo(5433);
        assertThat(p.socketDir()).isEqualTo("/tmp/sock dir ");
        assertThat(p.status()).isEqualTo("ready");
        assertThat(p.listenAddress()).isEqualTo("10.0.0.1");
    }
}
