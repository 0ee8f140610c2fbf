package org.pgstrata.postgres;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;

/**
 * Which restore a data directory's past comes from. Every restore writes {@value #FILE} into the
 * directory it restores, with a new random id; a backup records the id it finds (none: the
 * cluster was never restored by pgstrata). Two clusters with the same system identifier,
 * timeline and LSNs can still have different pasts: a copy restored from an older backup and
 * started without recovery (it goes on writing the same timeline), or two copies of one backup
 * that both ended recovery on the same new timeline. Nothing PostgreSQL keeps tells them apart,
 * and WAL summaries name only the cluster's own changes since an LSN, so an incremental trusts
 * them only over a backup of the same lineage ({@code PhysicalBackup}); otherwise it compares
 * every block with the backup's block map, which is right whatever the past. Backups do not copy
 * the file; a copy made outside pgstrata (a file system snapshot, pg_basebackup) keeps its
 * source's, as it keeps its source's timeline.
 */
public final class Lineage {
    /** The file in the data directory's top level; PostgreSQL ignores it. */
    public static final String FILE = "pgstrata.lineage";
    private static final String HEAD = "pgstrata lineage ";
    /**
     * What {@link #read} makes of a file that is not one a restore wrote (emptied, edited), and
     * what a backup records for one it cannot read: the start of a lineage never the same as
     * another, so that WAL summaries are not trusted over any backup.
     */
    public static final String UNREADABLE = "unreadable";

    private Lineage() {
    }

    /** Whether {@code lineage} (as {@link #read} gives it, or a backup recorded it) can never match another. */
    public static boolean unreadable(String lineage) {
        return lineage != null && lineage.startsWith(UNREADABLE);
    }

    /** The lineage id of the data directory {@code pgdata}; null when it has none (never restored by pgstrata). */
    public static String read(Path pgdata) throws IOException {
        String text;
        try {
            text = Files.readString(pgdata.resolve(FILE), StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            return null;
        }
        String first = text.lines().findFirst().orElse("");
        // Anything else (emptied, edited) is a lineage of its own: never equal to a backup's, so the summaries are not trusted.
        return first.startsWith(HEAD) && first.length() > HEAD.length() ? first.substring(HEAD.length()).strip() : UNREADABLE + ":" + text.strip();
    }

    /** Gives {@code target} a new lineage, durably: it restores {@code backupId}. */
    public static String writeNew(Path target, String backupId, String when) throws IOException {
        String id = java.util.UUID.randomUUID().toString();
        Path file = target.resolve(FILE);
        Files.writeString(file, HEAD + id + "\n" + "restored from backup " + backupId + " at " + when + " (read by pgstrata backup; "
                + "see docs/physical.md)\n", StandardCharsets.UTF_8);
        // As the cluster's own files: a data directory with group access (initdb -g) is read by its group's backup user too.
        Path version = target.resolve("PG_VERSION");
        Files.setPosixFilePermissions(file, Files.isRegularFile(version) ? Files.getPosixFilePermissions(version)
                : PosixFilePermissions.fromString("rw-------"));
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        return id;
    }
}
