package org.pgstrata.postgres;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * A data directory's postgresql.auto.conf, which the server reads last: every setting pgstrata adds
 * to a cluster (a restore's recovery and its copy's own port, a drill's sandbox, a raised setting,
 * configuration restored from outside the data directory, wal setup on a stopped cluster) is appended
 * here as one block, so that it wins over the source's wherever the source kept it.
 */
public final class AutoConf {
    private AutoConf() {
    }

    /** The file itself. */
    public static Path of(Path dataDir) {
        return dataDir.resolve("postgresql.auto.conf");
    }

    /**
     * Appends {@code lines} (each ending in a newline, made with {@link ConfValue#line}), after a
     * comment saying why when {@code why} is not null, and syncs the file. The block starts on a line
     * of its own: the file may end without a line break (edited by hand, or by a template that drops
     * it), and "work_mem = '8MB'port = 5433" kept the server from starting.
     */
    public static void append(Path dataDir, String why, String lines) throws IOException {
        Path auto = of(dataDir);
        String block = "\n" + (why == null ? "" : ConfValue.comment(why)) + lines;
        Files.writeString(auto, block, StandardCharsets.UTF_8, StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        try (FileChannel ch = FileChannel.open(auto, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
    }
}
