package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.storage.s3.S3Server;

/**
 * An S3 endpoint that answers every request with 500 InternalError. The retries are bounded (the
 * command ends, exit 22), and the one line it ends with says they were made: before, a command
 * sat silent for up to a minute of backoff and then printed only "HTTP 500 InternalError", as if
 * it had asked once (the retries were said only with -v).
 */
class S3ServerErrorsTest {

    @Test
    void aServerThatKeepsFailing_endsTheCommand_sayingHowOftenItWasAsked() throws Exception {
        AtomicInteger requests = new AtomicInteger();
        HttpServer s3 = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        s3.createContext("/", ex -> {
            requests.incrementAndGet();
            ex.getRequestBody().readAllBytes();
            byte[] body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>InternalError</Code>"
                    + "<Message>We encountered an internal error. Please try again.</Message></Error>").getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().set("Content-Type", "application/xml");
            ex.sendResponseHeaders(500, body.length);
            ex.getResponseBody().write(body);
            ex.close();
        });
        s3.start();
        try {
            CliRun list = CliRun.withEnv(S3Server.environment(), "list", "--repo", "s3://backups/pg",
                    "--s3-endpoint", "http://127.0.0.1:" + s3.getAddress().getPort(), "--s3-path-style");
            assertThat(list.exitCode()).as(list.err()).isEqualTo(22);
            assertThat(list.errLines()).as(list.err()).hasSize(1);
            assertThat(requests.get()).as("bounded").isLessThanOrEqualTo(16);
            assertThat(list.err()).contains("HTTP 500 InternalError").contains("(after 8 attempts)");
        } finally {
            s3.stop(0);
        }
    }
}
