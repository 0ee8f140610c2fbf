package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * cluster init's port. With PGPORT set, the stanza's port was no default (the environment beats
 * the file, and the option was taken to read PGPORT itself), but the option did not read PGPORT
 * either: the cluster got 5432, neither value. And a port outside 1-65535 (--port 70000, 0, -5)
 * made a cluster that could never start (exit 19 at start); it is refused with exit 2, nothing created.
 */
class ClusterInitPortTest extends PgTest {
    private static int port(int below) {
        for (int p = below - 1; p >= 56950; p--) {
            try (java.net.ServerSocket s = new java.net.ServerSocket(p, 1, java.net.InetAddress.getLoopbackAddress())) {
                return p;
            } catch (java.io.IOException busy) {
                // next one
            }
        }
        throw new IllegalStateException("no free port in 56950-" + below);
    }

    @Test
    void pgportBeatsTheStanzasPort_andTheStanzasPortIsTheDefaultWithoutIt() throws Exception {
        int filePort = port(56990);
        int envPort = port(filePort);
        Path conf = dir.resolve("pgstrata.conf");
        Files.writeString(conf, "[main]\nport = " + filePort + "\n");
        Path d1 = dir.resolve("d1");
        ChildCli.Finished r = ChildCli.run(Map.of("PGPORT", Integer.toString(envPort)), List.of(), 120, "--config", conf.toString(), "--stanza",
                "main", "cluster", "init", "-q", "-D", d1.toString(), "--start");
        LocalCluster c1 = pg.trackRestored(d1, 17);
        assertThat(r.exitCode()).as(r.output()).isZero();
        assertThat(r.output()).contains("(port " + envPort + ")");
        assertThat(c1.configuredPort()).isEqualTo(envPort);
        assertThat(PgSupport.queryString(c1, "SHOW port")).isEqualTo(Integer.toString(envPort));

        Path d2 = dir.resolve("d2");
        ChildCli.Finished r2 = ChildCli.run(Map.of(), List.of(), 120, "--config", conf.toString(), "--stanza", "main", "cluster", "init", "-q",
                "-D", d2.toString());
        assertThat(r2.exitCode()).as(r2.output()).isZero();
        assertThat(new LocalCluster(d2, null).configuredPort()).isEqualTo(filePort);
    }

    @Test
    void aPortOutsideTheRange_isRefusedInOneLine_beforeAnythingIsCreated() throws Exception {
        for (String bad : new String[] {"70000", "0", "-5"}) {
            Path d = dir.resolve("bad" + bad);
            CliRun r = CliRun.run("cluster", "init", "-q", "-D", d.toString(), "--port", bad);
            assertThat(r.exitCode()).as(bad + ": " + r.out() + r.err()).isEqualTo(2);
            assertThat(r.errLines()).hasSize(1);
            assertThat(r.err()).contains("invalid port " + bad + " (--port)");
            assertThat(d).doesNotExist();
        }
        Path conf = dir.resolve("bad.conf");
        Files.writeString(conf, "[main]\nport = 0\n");
        Path d = dir.resolve("fromfile");
        CliRun r = CliRun.run("--config", conf.toString(), "--stanza", "main", "cluster", "init", "-q", "-D", d.toString());
        assertThat(r.exitCode()).as(r.err()).isEqualTo(2);
        assertThat(r.err()).contains("invalid port 0 (port in " + conf + " [main])");
        assertThat(d).doesNotExist();
    }
}
