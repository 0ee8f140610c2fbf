package org.pgstrata.it;

import static org.assertj.core.api.Assertions.fail;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A non-root OS user, for tests that run pgstrata as someone else (as the postgres user runs
 * archive_command). The tests run as root (CI does): the user is made with useradd when absent,
 * without a home directory, and removed again by {@link #close()}.
 */
final class OtherUser implements AutoCloseable {
    static final String NAME = "pgstrata-test";
    private final boolean created;

    private OtherUser(boolean created) {
        this.created = created;
    }

    /** The user, created when absent; fails (never skips) when the test cannot be run as root with runuser and useradd. */
    static OtherUser ensure() {
        if (!"root".equals(System.getProperty("user.name"))) {
            fail("this test runs as root (CI does): it creates the user " + NAME + " and runs pgstrata as that user; it runs as "
                    + System.getProperty("user.name"));
        }
        for (String tool : List.of("/usr/sbin/runuser", "/usr/sbin/useradd", "/usr/sbin/userdel")) {
            if (!Files.isExecutable(Path.of(tool))) {
                fail(tool + " is missing: this test runs pgstrata as another user (util-linux and passwd provide them)");
            }
        }
        if (exec(List.of("id", "-u", NAME)).exit() == 0) {
            return new OtherUser(false);
        }
        Result r = exec(List.of("/usr/sbin/useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent", "--shell",
                "/usr/sbin/nologin", NAME));
        if (r.exit() != 0) {
            fail("useradd " + NAME + " failed: " + r.output());
        }
        return new OtherUser(true);
    }

    /** Runs {@code command} as this user in {@code dir}, with a server process's small environment. */
    Result run(Path dir, String... command) {
        List<String> cmd = new ArrayList<>(List.of("/usr/sbin/runuser", "-u", NAME, "--"));
        cmd.addAll(List.of(command));
        return exec(cmd, dir);
    }

    /** Gives the user a directory of its own. */
    void own(Path dir) {
        Result r = exec(List.of("chown", "-R", NAME + ":", dir.toString()));
        if (r.exit() != 0) {
            fail("chown " + dir + ": " + r.output());
        }
    }

    @Override
    public void close() {
        if (created) {
            exec(List.of("/usr/sbin/userdel", NAME));
        }
    }

    record Result(int exit, String output) {
    }

    static Result exec(List<String> cmd) {
        return exec(cmd, Path.of("/"));
    }

    /** Runs {@code cmd} in {@code dir} with PATH=/usr/sbin:/usr/bin:/sbin:/bin only; stdout and stderr together. */
    static Result exec(List<String> cmd, Path dir) {
        ProcessBuilder pb = new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        pb.environment().put("LANG", "C.UTF-8");
        try {
            Process p = pb.start();
            p.getOutputStream().close();
            byte[] out = p.getInputStream().readAllBytes();
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                fail(String.join(" ", cmd) + " did not finish in 300 s");
            }
            return new Result(p.exitValue(), new String(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new AssertionError("cannot run " + String.join(" ", cmd) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }
}
