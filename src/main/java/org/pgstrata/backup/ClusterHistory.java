package org.pgstrata.backup;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.postgres.TimelineHistory;
import org.pgstrata.postgres.WalFileName;

/**
 * A cluster's own past: its current timeline and the ancestors it forked from, as its
 * pg_wal/NNNNNNNN.history file says (PostgreSQL keeps history files in pg_wal). Timeline 1 has
 * no ancestors.
 */
final class ClusterHistory {
    private ClusterHistory() {
    }

    static TimelineHistory read(Path pgdata, int timeline) {
        if (timeline == 1) {
            return new TimelineHistory(1, List.of());
        }
        Path file = pgdata.resolve("pg_wal").resolve(WalFileName.history(timeline));
        try {
            return TimelineHistory.parse(timeline, Files.readString(file, StandardCharsets.US_ASCII));
        } catch (NoSuchFileException e) {
            throw new PgstrataException(ErrorCode.REFERENCE_MISMATCH, "the cluster is on timeline " + timeline + " but " + file
                    + " is missing, so its past cannot be told from another's", "take a full backup (--type full)");
        } catch (IOException | RuntimeException e) {
            throw new PgstrataException(ErrorCode.REFERENCE_MISMATCH, "cannot read the cluster's timeline history " + file + ": "
                    + e.getMessage(), "take a full backup (--type full)");
        }
    }
}
