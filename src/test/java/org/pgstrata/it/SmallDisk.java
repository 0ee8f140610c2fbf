package org.pgstrata.it;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * A file system of its own that fills: a tmpfs of a given size mounted on a directory (the tests
 * run as root, here and in CI). A test fills it to leave a given room ({@link #leave}) and frees it
 * again ({@link #free}); {@link #close} unmounts it, lazily if a process still works there.
 * A mount that fails fails the test: a full disk that was never made proves nothing.
 */
final class SmallDisk implements AutoCloseable {
    private final Path mountPoint;
    private final Path filler;
    private boolean mounted;

    private SmallDisk(Path mountPoint) {
        this.mountPoint = mountPoint;
        this.filler = mountPoint.resolve(".filler");
    }

    /** Mounts a tmpfs of {@code mib} MiB on {@code dir} (made if missing). */
    static SmallDisk mount(Path dir, long mib) throws IOException, InterruptedException {
        return mount(dir, mib, "");
    }

    /** The same, with more mount options ({@code ",noexec"}, say). */
    static SmallDisk mount(Path dir, long mib, String moreOptions) throws IOException, InterruptedException {
        Files.createDirectories(dir);
        SmallDisk d = new SmallDisk(dir);
        String out = run("mount", "-t", "tmpfs", "-o", "size=" + mib + "m,mode=0755" + moreOptions, "tmpfs", dir.toString());
        if (out != null) {
            throw new AssertionError("cannot mount a tmpfs of " + mib + " MiB on " + dir + " (a full-disk test needs root): " + out);
        }
        d.mounted = true;
        return d;
    }

    Path path() {
        return mountPoint;
    }

    /** Bytes that can still be written. */
    long room() throws IOException {
        return Files.getFileStore(mountPoint).getUsableSpace();
    }

    /** Grows (or shrinks) the file system to {@code mib} MiB in place. */
    void resize(long mib) throws IOException, InterruptedException {
        String out = run("mount", "-o", "remount,size=" + mib + "m", mountPoint.toString());
        if (out != null) {
            throw new AssertionError("cannot resize the tmpfs on " + mountPoint + " to " + mib + " MiB: " + out);
        }
    }

    /** Makes the file system read-only ({@code true}) or writable again, in place. */
    void readOnly(boolean ro) throws IOException, InterruptedException {
        String out = run("mount", "-o", ro ? "remount,ro" : "remount,rw", mountPoint.toString());
        if (out != null) {
            throw new AssertionError("cannot remount the tmpfs on " + mountPoint + (ro ? " read-only: " : " writable: ") + out);
        }
    }

    /** Fills the disk with a hidden file until about {@code bytes} are left (0: not one block). */
    void leave(long bytes) throws IOException {
        free();
        long want = room() - bytes;
        if (want <= 0) {
            return;
        }
        byte[] block = new byte[1 << 16];
        try (FileChannel ch = FileChannel.open(filler, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            while (want > 0) {
                int n = (int) Math.min(block.length, want);
                try {
                    want -= ch.write(ByteBuffer.wrap(block, 0, n));
                } catch (IOException e) {
                    break; // full
                }
            }
        }
    }

    /** Removes the filler. */
    void free() throws IOException {
        Files.deleteIfExists(filler);
    }

    @Override
    public void close() throws IOException, InterruptedException {
        if (!mounted) {
            return;
        }
        mounted = false;
        if (run("umount", mountPoint.toString()) != null) {
            String out = run("umount", "-l", mountPoint.toString());
            if (out != null) {
                throw new AssertionError("cannot unmount the tmpfs on " + mountPoint + ": " + out);
            }
        }
    }

    /** Runs a command; null when it succeeds, else what it said. */
    private static String run(String... cmd) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(List.of(cmd)).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            return String.join(" ", cmd) + " did not end";
        }
        return p.exitValue() == 0 ? null : String.join(" ", cmd) + " exited " + p.exitValue() + ": " + out;
    }
}
