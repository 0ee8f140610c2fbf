package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.cli.CliRun;
import org.pgstrata.storage.s3.S3Server;

/**
 * --s3-endpoint naming a web server that is not S3 (a plain HTTP server answering every request
 * with an HTML page and 200). Before, the page came back as the object repo.json: every command
 * called the repository damaged (exit 15, "restore repo.json from a copy") and wal get, as
 * restore_command, said the archived WAL was damaged (exit 126). Now it is what it is: the
 * endpoint did not deliver (exit 22; wal get 128), named as not S3, and nothing is written.
 */
class S3EndpointNotS3Test {
    @TempDir
    static Path dir;
    static HttpServer web;
    static final List<String> requests = new ArrayList<>();

    @BeforeAll
    static void setUp() throws Exception {
        web = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        web.createContext("/", ex -> {
            synchronized (requests) {
                requests.add(ex.getRequestMethod() + " " + ex.getRequestURI());
            }
            ex.getRequestBody().readAllBytes();
            byte[] page = "<!DOCTYPE html><html><body><h1>Welcome to nginx!</h1></body></html>".getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "text/html; charset=utf-8");
            if ("HEAD".equals(ex.getRequestMethod())) {
                ex.getResponseHeaders().set("Content-Length", Integer.toString(page.length));
                ex.sendResponseHeaders(200, -1);
            } else {
                ex.sendResponseHeaders(200, page.length);
                ex.getResponseBody().write(page);
            }
            ex.close();
        });
        web.start();
    }

    @AfterAll
    static void tearDown() {
        web.stop(0);
    }

    private static String[] with(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--repo", "s3://backups/pg", "--s3-endpoint", "http://127.0.0.1:" + web.getAddress().getPort(), "--s3-path-style"));
        return all.toArray(String[]::new);
    }

    @Test
    void anHtmlPage_isNamedAsNotS3_notAsADamagedRepository() throws Exception {
        for (String[] command : List.of(new String[] {"list"}, new String[] {"verify"},
                new String[] {"restore", "--to", dir.resolve("copy").toString()})) {
            CliRun run = CliRun.withEnv(S3Server.environment(), with(command));
            assertThat(run.exitCode()).as(run.err()).isEqualTo(22);
            assertThat(run.errLines()).as(run.err()).hasSize(1);
            assertThat(run.err()).contains("HTML").contains("--s3-endpoint").doesNotContain("restore repo.json from a copy");
        }
        assertThat(dir.resolve("copy")).doesNotExist();

        // as restore_command: an endpoint that is not S3 is no verdict on the archived WAL
        Path segment = dir.resolve("segment");
        ChildCli.Finished get = ChildCli.run(S3Server.environment(), List.of(), 120, with("wal", "get", "000000010000000000000005", segment.toString()));
        assertThat(get.exitCode()).as(get.output()).isEqualTo(128);
        assertThat(get.output().lines().filter(l -> !l.isBlank()).toList()).as(get.output()).hasSize(1);
        assertThat(get.output()).contains("HTML").doesNotContain("damaged");
        assertThat(Files.exists(segment)).isFalse();
        synchronized (requests) {
            assertThat(requests).as("nothing written").noneMatch(r -> r.startsWith("PUT") || r.startsWith("POST") || r.startsWith("DELETE"));
        }
    }
}
