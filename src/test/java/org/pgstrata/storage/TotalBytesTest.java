package org.pgstrata.storage;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.storage.fs.FileStorage;

/**
 * A repository's size is counted while others write to it: archive_command's shell check removes
 * a spool note, a push replaces a temporary file. An object that goes away between the listing and
 * its size is not counted; it is not an error (compare failed on this in CI: "object
 * 'spool/...backup' does not exist").
 */
class TotalBytesTest {

    @Test
    void anObjectRemovedAfterTheListingIsNotCounted(@TempDir Path dir) throws IOException {
        try (FileStorage files = new FileStorage(dir)) {
            files.putBytes("backup/a", "12345".getBytes(StandardCharsets.UTF_8));
            files.putBytes("spool/000000010000000000000017.00000028.backup", "1 2 3\n".getBytes(StandardCharsets.UTF_8));
            Storage racing = new RemovesAfterListing(files, "spool/000000010000000000000017.00000028.backup");

            assertThat(racing.totalBytes("")).isEqualTo(5);
            assertThat(files.totalBytes("")).isEqualTo(5);
        }
    }

    /** Lists, then removes one listed key, as a concurrent writer would. */
    private static final class RemovesAfterListing extends ForwardingStorage {
        private final String removed;

        RemovesAfterListing(Storage inner, String removed) {
            super(inner);
            this.removed = removed;
        }

        @Override
        public List<String> list(String prefix) throws IOException {
            List<String> keys = inner.list(prefix);
            inner.delete(removed);
            return keys;
        }

        @Override
        public void close() {
        }
    }
}
