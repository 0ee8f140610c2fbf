package org.pgstrata.api;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/** Local directory trees that pgstrata makes and removes (work directories, unpacked binaries). */
public final class FileTrees {
    private FileTrees() {
    }

    /** Removes {@code dir} and everything below it (symbolic links, not what they point to); absent is fine. */
    public static void delete(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(p);
            }
        }
    }

    /**
     * Whether the directory {@code dir} holds no entry.
     *
     * @throws IOException when it cannot be listed: absent, not a directory, or unreadable
     */
    public static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> entries = Files.list(dir)) {
            return entries.findAny().isEmpty();
        }
    }
}
