package org.pgstrata.restore;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.Callable;
import org.pgstrata.api.Parallel;

/**
 * Makes the files a restore wrote durable once, at the end, instead of one fsync per file on the
 * path of each worker (an fsync waits for the disk, and a worker that waits does not decompress).
 * The kernel writes back in the background meanwhile, so what is left to wait for at the end is
 * the tail.
 *
 * <p>Where coreutils' {@code sync --file-system} exists (syncfs(2), which reports writeback errors
 * since Linux 5.8), one call flushes the target's filesystem; otherwise, or if it fails, each file
 * is forced, by several threads. The directory is passed as an argument, never through a shell.
 */
final class Durability {
    private static final List<Path> SYNC = List.of(Path.of("/usr/bin/sync"), Path.of("/bin/sync"));

    private Durability() {
    }

    /** Makes {@code files} (all on the filesystems of {@code dirs}) durable; says how. */
    static String syncAll(List<Path> dirs, Collection<Path> files, int jobs) throws IOException {
        if (files.isEmpty()) {
            return "nothing to sync";
        }
        boolean all = true;
        for (Path dir : dirs) {
            all = all && syncFileSystem(dir);
        }
        if (all) {
            return dirs.size() == 1 ? "syncfs of its filesystem" : "syncfs of the filesystems of " + dirs.size() + " directories";
        }
        List<Callable<Void>> tasks = new ArrayList<>();
        for (Path f : files) {
            tasks.add(() -> {
                try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                    ch.force(true);
                }
                return null;
            });
        }
        Parallel.run(jobs, "pgstrata-sync", tasks);
        return "fsync of each of " + files.size() + " files";
    }

    /** syncfs(2) of the filesystem that holds {@code dir}, through coreutils; false when that is unavailable or fails. */
    static boolean syncFileSystem(Path dir) throws IOException {
        if (Boolean.getBoolean("pgstrata.restore.noSyncfs")) {
            return false;
        }
        Path sync = SYNC.stream().filter(Files::isExecutable).findFirst().orElse(null);
        if (sync == null) {
            return false;
        }
        ProcessBuilder pb = new ProcessBuilder(sync.toString(), "--file-system", "--", dir.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD);
        try {
            return pb.start().waitFor() == 0;
        } catch (IOException e) {
            return false; // cannot run it: each file is forced instead
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while making the restored files durable");
        }
    }
}
