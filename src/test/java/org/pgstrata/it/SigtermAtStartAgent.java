package org.pgstrata.it;

import java.util.concurrent.TimeUnit;

/**
 * A Java agent (see {@link InterruptedAtStartTest}) that delivers SIGTERM to its own JVM before the
 * command's main method runs, and returns once the JVM's shutdown has begun: as a SIGTERM that
 * arrives while the JVM starts, with a shutdown hook (here its own, a slow one) still running.
 */
public final class SigtermAtStartAgent {
    private SigtermAtStartAgent() {
    }

    public static void premain(String args) throws Exception {
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                Thread.sleep(3000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        new ProcessBuilder("kill", "-TERM", Long.toString(ProcessHandle.current().pid())).start().waitFor(10, TimeUnit.SECONDS);
        for (int i = 0; i < 200; i++) {
            Thread probe = new Thread(() -> { });
            try {
                Runtime.getRuntime().addShutdownHook(probe);
                Runtime.getRuntime().removeShutdownHook(probe);
            } catch (IllegalStateException shuttingDown) {
                return;
            }
            Thread.sleep(10);
        }
    }
}
