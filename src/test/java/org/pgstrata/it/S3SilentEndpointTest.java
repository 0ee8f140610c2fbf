package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.storage.s3.S3Server;

/**
 * An S3 endpoint that accepts connections and never answers (a hung proxy, a half-dead server):
 * each attempt waited out the socket timeout (120 s) in silence, 8 attempts, so a command said
 * nothing for up to 16 minutes. Each failed attempt is now a one-line warning naming the endpoint
 * and the reason, and the timeout is 60 s of inactivity (made short here by a test hook).
 */
class S3SilentEndpointTest {

    @Test
    void anEndpointThatNeverAnswers_isSaidAtEachFailedAttempt() throws Exception {
        List<Socket> held = new ArrayList<>();
        try (ServerSocket silent = bindInRange()) {
            Thread acceptor = new Thread(() -> {
                try {
                    while (true) {
                        Socket s = silent.accept(); // read nothing, answer nothing
                        synchronized (held) {
                            held.add(s);
                        }
                    }
                } catch (IOException closed) {
                    // the test is over
                }
            });
            acceptor.setDaemon(true);
            acceptor.start();
            String endpoint = "http://127.0.0.1:" + silent.getLocalPort();
            Map<String, String> env = new HashMap<>(S3Server.environment());
            env.put("PGSTRATA_TEST_S3_SOCKET_TIMEOUT_MS", "300");
            long t0 = System.nanoTime();
            ChildCli.Finished r = ChildCli.run(env, List.of(), 120, "list", "--repo", "s3://backups/pg", "--s3-endpoint", endpoint,
                    "--s3-path-style");
            double seconds = (System.nanoTime() - t0) / 1e9;
            assertThat(r.exitCode()).as(r.output()).isEqualTo(22);
            List<String> warnings = r.output().lines().filter(l -> l.startsWith("pgstrata: warning: ")).toList();
            assertThat(warnings).as(r.output()).hasSizeGreaterThanOrEqualTo(2).allSatisfy(l -> assertThat(l)
                    .startsWith("pgstrata: warning: S3 request to s3://backups/pg (endpoint " + endpoint + ") failed (")
                    .containsIgnoringCase("timed out").contains("retrying in"));
            assertThat(r.output().lines().filter(l -> l.startsWith("pgstrata: error: ")).toList()).as(r.output()).singleElement()
                    .asString().contains("attempts");
            assertThat(seconds).as("the test hook's timeout, not the real one").isLessThan(60);
            assertThat(held).as("the command reached the silent endpoint").isNotEmpty();
        } finally {
            synchronized (held) {
                for (Socket s : held) {
                    s.close();
                }
            }
        }
    }

    /** A listener on 127.0.0.1 in the ports this test may use. */
    private static ServerSocket bindInRange() throws IOException {
        for (int port = 65200; port < 65400; port++) {
            try {
                return new ServerSocket(port, 50, InetAddress.getByName("127.0.0.1"));
            } catch (IOException taken) {
                // next
            }
        }
        throw new IOException("no free port in 65200-65399");
    }
}
