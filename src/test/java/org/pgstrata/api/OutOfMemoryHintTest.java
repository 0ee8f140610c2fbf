package org.pgstrata.api;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * The hint of the out-of-memory error names a heap larger than the one that ran out: it said
 * -Xmx2g whatever the heap, so a command that ran out under PGSTRATA_JAVA_OPTS=-Xmx2g (info,
 * verify or expire over an archive of 1 GiB WAL segments, initdb --wal-segsize 1024) was told to
 * run again with the very heap it had.
 */
class OutOfMemoryHintTest {
    private static String hint(long heapMib) {
        PgstrataException e = PgstrataException.outOfMemory(new RuntimeException(new OutOfMemoryError("Java heap space")), heapMib << 20);
        assertThat(e.getMessage()).contains("heap of " + heapMib + " MiB");
        return e.hint();
    }

    @Test
    void theHint_namesAHeapLargerThanTheOneThatRanOut() {
        assertThat(hint(494)).endsWith("PGSTRATA_JAVA_OPTS=-Xmx2g");
        assertThat(hint(1979)).endsWith("PGSTRATA_JAVA_OPTS=-Xmx4g");
        assertThat(hint(3959)).endsWith("PGSTRATA_JAVA_OPTS=-Xmx8g");
    }

    @Test
    void anotherError_isNoOutOfMemory() {
        assertThat(PgstrataException.outOfMemory(new RuntimeException("x"), 1L << 30)).isNull();
    }
}
