package org.pgstrata.postgres;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Supplier;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;

/**
 * Stops recovery before it replays a CREATE TABLESPACE into another cluster's tablespace.
 *
 * <p>Recovery creates a tablespace at the location its record names and, in recovery, takes the
 * version directory (PG_major_catversion) it finds there as its own. A copy restored on the
 * source's machine, to a point after a CREATE TABLESPACE, so linked itself to the live source's
 * tablespace: its replay and its checkpoints wrote the source's files, and a DROP TABLE in the
 * copy deleted one. A version directory at the location belongs to this data directory only when
 * a link in its pg_tblspc already leads there (its own recovery made it, and started again, or made
 * it for a tablespace dropped before this one was created there); any other
 * is a cluster's that this recovery must not touch.
 */
public final class ForeignTablespaces {
    /** The words that say so in the server log, which a restore that started the copy looks for. */
    public static final String MARKER = "holds another cluster's tablespace";

    private ForeignTablespaces() {
    }

    /** A creation that must not be replayed: the segment, the record, and the version directories found at its location. */
    public record Refusal(String segment, TablespaceCreations.Creation creation, List<String> versions) {
        /** What the segment does, and why that is refused. */
        public String what() {
            return "WAL " + segment + " creates tablespace " + creation.oid() + " at " + creation.location() + " (record at " + creation.lsn()
                    + "), which " + MARKER + " (" + String.join(", ", versions) + ")";
        }

        /** What a user can do about it, with {@code earlier} the way to an earlier target (or null where there is none). */
        public String hint(String earlier) {
            return (earlier == null ? "" : earlier + ", or ") + "restore on a machine where " + creation.location()
                    + " is an empty directory; if no server uses that directory, move " + versions.get(0) + " aside";
        }
    }

    /**
     * Refuses segment {@code name} when a tablespace it creates would take another cluster's
     * version directory: recovery stops with an error (restore_command's failure), not at an end
     * of the archive. {@code dataDir} is the directory being recovered; {@code bound} where its
     * recovery stops (null: nowhere before the end); {@code next} and {@code previous} give the
     * segments around it when a record runs across ({@link TablespaceCreations}).
     */
    public static void check(String name, byte[] content, long segmentSize, Path dataDir, TablespaceCreations.Bound bound,
                             Supplier<byte[]> next, Supplier<byte[]> previous) {
        Refusal r = find(name, content, segmentSize, dataDir, bound, next, previous, c -> false);
        if (r != null) {
            throw new PgstrataException(ErrorCode.TABLESPACE_IN_USE, r.what() + ": replaying it would write into that cluster's files,"
                    + " so recovery stops before it", r.hint("restore to --target-lsn " + r.creation().lsn()
                    + " --target-inclusive false (recovery stops just before that record)") + " and start the copy again");
        }
    }

    /**
     * The first creation in segment {@code name} that would take another cluster's version
     * directory, or null; as {@link #check}, with {@code alsoOwn} saying of a creation whose
     * location is the recovering cluster's own by other means (a delta restore in place, whose
     * pg_tblspc/OID linked there before the restore removed the link).
     */
    public static Refusal find(String name, byte[] content, long segmentSize, Path dataDir, TablespaceCreations.Bound bound,
                               Supplier<byte[]> next, Supplier<byte[]> previous, java.util.function.Predicate<TablespaceCreations.Creation> alsoOwn) {
        long segno = WalFileName.segmentNumber(name.substring(0, 24), segmentSize);
        List<TablespaceCreations.Creation> creations = new ArrayList<>(TablespaceCreations.cutAtStart(content, segno, segmentSize, bound, previous));
        creations.addAll(TablespaceCreations.inSegment(content, segno, segmentSize, bound, next));
        for (TablespaceCreations.Creation c : creations) {
            if (c.location().isEmpty() || !c.location().startsWith("/")) {
                continue; // a tablespace inside pg_tblspc (allow_in_place_tablespaces): the copy's own
            }
            Path location = Path.of(c.location());
            List<String> versions = versionDirectories(location, majorOf(dataDir));
            if (!versions.isEmpty() && !ownLink(dataDir, c.oid(), location) && !alsoOwn.test(c)) {
                return new Refusal(name, c, versions);
            }
        }
        return null;
    }

    /**
     * The PG_major_catversion directories in {@code location} of PostgreSQL {@code major} (of any,
     * when null), links to directories included as PostgreSQL's stat() takes them; none when the
     * location is absent or unreadable (recovery then says why). Another major's directory is
     * another cluster's too, but recovery leaves it alone: it makes its own beside it, as
     * pg_upgrade's clusters share a location.
     */
    private static List<String> versionDirectories(Path location, String major) {
        List<String> found = new ArrayList<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(location)) {
            for (Path p : entries) {
                String n = p.getFileName().toString();
                if (VersionDirectory.isVersionDirectory(n) && (major == null || VersionDirectory.belongsTo(n, major)) && Files.isDirectory(p)) {
                    found.add(n);
                }
            }
        } catch (IOException e) {
            return List.of();
        }
        java.util.Collections.sort(found);
        return found;
    }

    /** The major version in {@code dataDir}'s PG_VERSION (as "17"), or null when it cannot be read. */
    private static String majorOf(Path dataDir) {
        try {
            String v = Files.readString(dataDir.resolve("PG_VERSION")).trim();
            return v.matches("\\d+(\\.\\d+)?") ? v : null;
        } catch (IOException e) {
            return null;
        }
    }

    /**
     * Whether a link in pg_tblspc of {@code dataDir} already leads to {@code location}: pg_tblspc/OID
     * (an earlier run of this recovery made it), or another tablespace's link, which this recovery
     * made at the same location for a tablespace the source dropped before it created this one
     * there (a location holds one tablespace of a major at a time).
     */
    private static boolean ownLink(Path dataDir, long oid, Path location) {
        Path tblspc = dataDir.resolve("pg_tblspc");
        if (linksTo(tblspc.resolve(Long.toString(oid)), location)) {
            return true;
        }
        try (DirectoryStream<Path> links = Files.newDirectoryStream(tblspc)) {
            for (Path link : links) {
                if (linksTo(link, location)) {
                    return true;
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    private static boolean linksTo(Path link, Path location) {
        try {
            return Files.isSymbolicLink(link) && Files.isSameFile(link, location);
        } catch (IOException e) {
            return false;
        }
    }
}
