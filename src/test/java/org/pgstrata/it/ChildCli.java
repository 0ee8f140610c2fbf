package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

/**
 * The command line in another JVM, for tests that kill it (SIGKILL: no clean-up, no shutdown
 * hooks) at a point a test hook ({@link org.pgstrata.api.TestHooks}) marks, and for tests that
 * bound its memory (JVM options such as -Xmx, and its peak resident memory measured).
 */
final class ChildCli {
    private ChildCli() {
    }

    /** Starts {@code pgstrata args...} with {@code env} added (and no inherited PG* variables), output and errors merged. */
    static Process start(Map<String, String> env, List<String> jvmOptions, String... args) throws IOException {
        return start(env, jvmOptions, -1, args);
    }

    /** {@link #start(Map, List, String...)} with output and errors going to {@code log} instead of a pipe, for a test to read whenever it likes. */
    static Process startLogged(Map<String, String> env, Path log, String... args) throws IOException {
        return builder(env, List.of(), -1, true, args).redirectOutput(log.toFile()).start();
    }

    /**
     * {@link #start(Map, List, String...)}, with no file it writes allowed past {@code fileSizeKib} KiB (RLIMIT_FSIZE, as
     * {@code ulimit -f} sets it; -1 for none): a write there takes what fits and the next fails,
     * as on a file system that fills, without a file system of its own to fill.
     */
    static Process start(Map<String, String> env, List<String> jvmOptions, long fileSizeKib, String... args) throws IOException {
        return builder(env, jvmOptions, fileSizeKib, true, args).start();
    }

    private static ProcessBuilder builder(Map<String, String> env, List<String> jvmOptions, long fileSizeKib, boolean nativeCache, String... args) {
        List<String> cmd = new java.util.ArrayList<>();
        if (fileSizeKib >= 0) {
            // ulimit -f counts 1024-byte blocks in bash; the JVM ignores SIGXFSZ, so the write fails with EFBIG instead
            cmd.addAll(List.of("bash", "-c", "ulimit -f " + fileSizeKib + " && exec \"$@\"", "bash"));
        }
        if (nativeCache) {
            cmd.addAll(org.pgstrata.ChildJava.command());
        } else {
            cmd.add(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString());
        }
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path")));
        if (System.getProperty("pgstrata.pgbin.dir") != null) {
            cmd.add("-Dpgstrata.pgbin.dir=" + System.getProperty("pgstrata.pgbin.dir"));
        }
        cmd.addAll(jvmOptions);
        cmd.add("org.pgstrata.cli.Main");
        cmd.addAll(List.of(args));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("PG") && !k.startsWith("PGSTRATA_"));
        pb.environment().putAll(env);
        return pb;
    }

    /** What a command run to its end in a child JVM did: exit code, output and errors merged, peak resident memory. */
    record Finished(int exitCode, String output, long peakRssKib, double seconds) {
    }

    /**
     * Runs {@code pgstrata args...} in a child JVM with {@code jvmOptions} to its end (at most
     * {@code seconds}); its peak resident memory is VmHWM of /proc/PID/status, read until it exits
     * (the high-water mark only grows, so the last reading is at most one interval short of the end).
     */
    static Finished run(Map<String, String> env, List<String> jvmOptions, int seconds, String... args) throws Exception {
        return run(env, jvmOptions, -1, seconds, args);
    }

    /** The same, with files limited to {@code fileSizeKib} KiB (see {@link #start(Map, List, long, String...)}). */
    static Finished run(Map<String, String> env, List<String> jvmOptions, long fileSizeKib, int seconds, String... args) throws Exception {
        return run(builder(env, jvmOptions, fileSizeKib, true, args), seconds, args);
    }

    /**
     * {@link #run(Map, List, int, String...)} in a JVM started as a checkout's launcher starts it:
     * without the native library options that point zstd-jni at pgstrata's cache, so that it
     * unpacks its library into java.io.tmpdir first.
     */
    static Finished runWithoutNativeCache(Map<String, String> env, List<String> jvmOptions, int seconds, String... args) throws Exception {
        return run(builder(env, jvmOptions, -1, false, args), seconds, args);
    }

    private static Finished run(ProcessBuilder command, int seconds, String... args) throws Exception {
        long t0 = System.nanoTime();
        Process child = command.start();
        CompletableFuture<String> output = CompletableFuture.supplyAsync(() -> {
            try {
                return new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "(output unreadable: " + e + ")";
            }
        });
        Path status = Path.of("/proc", Long.toString(child.pid()), "status");
        long peak = 0;
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (child.isAlive() && System.nanoTime() < deadline) {
            peak = Math.max(peak, highWaterMarkKib(status));
            child.waitFor(20, TimeUnit.MILLISECONDS);
        }
        if (child.isAlive()) {
            kill(child);
            throw new AssertionError("pgstrata " + String.join(" ", args) + " did not end within " + seconds + " s; it said: "
                    + output.get(10, TimeUnit.SECONDS));
        }
        return new Finished(child.exitValue(), output.get(30, TimeUnit.SECONDS), peak, (System.nanoTime() - t0) / 1e9);
    }

    private static long highWaterMarkKib(Path status) {
        try {
            for (String line : java.nio.file.Files.readAllLines(status)) {
                if (line.startsWith("VmHWM:")) {
                    return Long.parseLong(line.replaceAll("[^0-9]", ""));
                }
            }
        } catch (IOException | RuntimeException e) {
            // the process ended between the check and the read
        }
        return 0;
    }

    /** Waits until {@code child} prints a line that contains {@code marker}; fails with what it printed otherwise. */
    static void awaitLine(Process child, String marker, int seconds) throws Exception {
        StringBuilder output = new StringBuilder();
        CompletableFuture<Boolean> seen = CompletableFuture.supplyAsync(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    synchronized (output) {
                        output.append(line).append('\n');
                    }
                    if (line.contains(marker)) {
                        return true;
                    }
                }
                return false;
            } catch (IOException e) {
                return false;
            }
        });
        boolean ok = seen.get(seconds, TimeUnit.SECONDS);
        synchronized (output) {
            assertThat(ok).as("child output: %s", output).isTrue();
        }
    }

    /** Waits until the log of a {@link #startLogged} child holds {@code marker}; fails with the log otherwise. Returns the log. */
    static String awaitInLog(Process child, Path log, String marker, int seconds) throws Exception {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        String said = "";
        while (System.nanoTime() < deadline) {
            said = java.nio.file.Files.exists(log) ? java.nio.file.Files.readString(log) : "";
            if (said.contains(marker) || !child.isAlive()) {
                break;
            }
            Thread.sleep(100);
        }
        said = java.nio.file.Files.exists(log) ? java.nio.file.Files.readString(log) : "";
        assertThat(said).as("child output").contains(marker);
        return said;
    }

    /** What a child paused at a test hook did once let go on: its exit code and output, and what the test did meanwhile. */
    record Resumed<T>(int exitCode, String output, T meanwhile) {
    }

    /**
     * Runs {@code pgstrata args...} in a child that pauses at test hook {@code hook}
     * (PGSTRATA_TEST_PAUSE_AT); once its log says so, runs {@code meanwhile}, lets the child go on
     * and waits for its end, at most {@code seconds}. The child is killed if anything fails;
     * {@code log} keeps its output and errors.
     */
    static <T> Resumed<T> pausedAt(String hook, Path log, java.util.concurrent.Callable<T> meanwhile, int seconds, String... args) throws Exception {
        return pausedAt(Map.of(), hook, log, meanwhile, seconds, args);
    }

    /** {@link #pausedAt(String, Path, java.util.concurrent.Callable, int, String...)} with {@code env} added to the child's environment. */
    static <T> Resumed<T> pausedAt(Map<String, String> env, String hook, Path log, java.util.concurrent.Callable<T> meanwhile, int seconds, String... args)
            throws Exception {
        Path go = log.resolveSibling(log.getFileName() + ".go");
        Map<String, String> all = new java.util.HashMap<>(env);
        all.putAll(Map.of("PGSTRATA_TEST_PAUSE_AT", hook, "PGSTRATA_TEST_RESUME_FILE", go.toString()));
        Process child = startLogged(all, log, args);
        T done;
        try {
            awaitInLog(child, log, "test hook: pausing at " + hook, 120);
            done = meanwhile.call();
            java.nio.file.Files.writeString(go, "");
            assertThat(child.waitFor(seconds, TimeUnit.SECONDS)).as("the child ends").isTrue();
        } finally {
            kill(child);
        }
        return new Resumed<>(child.exitValue(), java.nio.file.Files.readString(log), done);
    }

    /** Kills {@code child} with SIGKILL and waits for it to end. */
    static void kill(Process child) throws InterruptedException {
        child.destroyForcibly();
        child.waitFor(30, TimeUnit.SECONDS);
    }
}
