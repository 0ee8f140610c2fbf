package org.pgstrata;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;

/** chattr(1) on a file: {@code +i} makes it one that nothing, root included, can remove, until {@code -i}; a removal that stops halfway. */
public final class Chattr {
    private Chattr() {
    }

    public static void set(String flag, Path file) throws Exception {
        Process p = new ProcessBuilder("chattr", flag, file.toString()).inheritIO().start();
        assertThat(p.waitFor()).as("chattr %s (needs root)", flag).isZero();
    }
}
