package org.pgstrata.manifest;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The order of logical backups, which decides the newest one and a differential's full. */
class LogicalOrderTest {
    private static LogicalManifest at(String id, String time, String lsn) {
        return new LogicalManifest(LogicalManifest.FORMAT_VERSION, id, LogicalManifest.FULL, null, "1", 170000, "17", "17", "postgres", lsn,
                time, time, time, "zstd", LogicalManifest.CUSTOM, List.of(), List.of(), List.of(), 0, "dev", null, null, null, null, null);
    }

    /** Instant writes a whole second without a fraction; as text, "…:05Z" came after "…:05.250Z". */
    @Test
    void aSnapshotOnAWholeSecond_comesBeforeTheSameSecondsLaterOnes() {
        LogicalManifest whole = at("a-full", "2026-12-05T10:00:05Z", "0/3000028");
        LogicalManifest later = at("b-diff", "2026-12-05T10:00:05.250Z", "0/3000100");
        LogicalManifest earlier = at("c-full", "2026-12-05T10:00:04.999999Z", "0/2000000");
        List<LogicalManifest> all = new ArrayList<>(List.of(later, whole, earlier));
        all.sort(Repository.LOGICAL_ORDER);
        assertThat(all).extracting(LogicalManifest::id).containsExactly("c-full", "a-full", "b-diff");
    }
}
