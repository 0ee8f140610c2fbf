package org.pgstrata.backup;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.pgstrata.postgres.RelationFile;
import org.pgstrata.postgres.VersionDirectory;

/**
 * Lists what a backup copies from a data directory, leaving out what PostgreSQL's own base
 * backup leaves out (src/backend/backup/basebackup.c): the contents of directories that the
 * server empties or rebuilds at start, pg_wal's contents, the relation cache init files, the pid
 * and option files, backup_label and tablespace_map, temporary files and temporary relations,
 * and every fork of an unlogged relation except its init fork. Unlike it, the recovery and
 * standby signal files are left out too: a backup of a standby restores as a primary's would
 * (restore writes the signal it needs), not as a standby that follows the live primary. Tablespaces (symlinks in
 * pg_tblspc) are followed and listed under pg_tblspc/OID/; a pg_wal that is a link (initdb --waldir), or another directory
 * kept empty (a pg_stat_tmp on tmpfs), is listed as the empty directory it is restored as; any other
 * link to a directory is left out, as PostgreSQL's base backup leaves it out: following it would copy whatever it points
 * at (the whole file system for a link to /) and never end on a link back into the data directory. Links to files
 * (a postgresql.conf kept in /etc) are copied as the files they point at.
 */
final class DataDirectoryScan {
    /** Directories kept, but empty. */
    private static final Set<String> EMPTY_DIRS = Set.of("pg_stat_tmp", "pg_replslot", "pg_dynshmem", "pg_notify",
            "pg_serial", "pg_snapshots", "pg_subtrans", "pg_wal");
    /** Files never copied, wherever they are at the top level. */
    private static final Set<String> SKIP_FILES = Set.of("postgresql.auto.conf.tmp", "current_logfiles.tmp", "backup_label",
            "tablespace_map", "backup_manifest", "postmaster.pid", "postmaster.opts", "backup_label.old",
            "standby.signal", "recovery.signal");
    /** The only links to directories that a backup follows, as PostgreSQL's own does. */
    private static final Pattern FOLLOWED_DIR_LINK = Pattern.compile("pg_wal|pg_tblspc/\\d+");
    private static final Pattern DB_DIR = Pattern.compile("(base/\\d+|pg_tblspc/\\d+/[^/]+/\\d+)");

    /** A file or directory; {@code modified}: its last-modified time in milliseconds since the epoch as the scan saw it. */
    record Item(String path, Path absolute, long size, String mode, long modified) {
    }

    /** {@code skippedLinks}: links to directories that were left out, relative to the data directory. */
    record Result(List<Item> files, List<Item> directories, long totalBytes, List<String> skippedLinks) {
    }

    private final Path root;
    private final List<Item> files = new ArrayList<>();
    private final List<Item> dirs = new ArrayList<>();
    private final List<String> skippedLinks = new ArrayList<>();

    /** "17": this cluster's major version, which names its version directories in tablespace locations; null when PG_VERSION is unreadable. */
    private final String ownMajor;

    private DataDirectoryScan(Path root, String ownMajor) {
        this.root = root;
        this.ownMajor = ownMajor;
    }

    static Result scan(Path pgdata) throws IOException {
        DataDirectoryScan s = new DataDirectoryScan(pgdata, ownMajor(pgdata));
        s.walk(pgdata, "");
        long total = s.files.stream().mapToLong(Item::size).sum();
        return new Result(s.files, s.dirs, total, s.skippedLinks);
    }

    private void walk(Path dir, String rel) throws IOException {
        List<Path> children;
        try (Stream<Path> list = Files.list(dir)) {
            children = list.sorted().toList();
        } catch (NoSuchFileException e) {
            return; // dropped while we looked (a database or tablespace being removed)
        }
        Set<Long> unlogged = DB_DIR.matcher(rel).matches() ? unloggedRelations(children) : Set.of();
        for (Path child : children) {
            String name = child.getFileName().toString();
            String childRel = rel.isEmpty() ? name : rel + "/" + name;
            if (name.startsWith("pgsql_tmp")) {
                continue;
            }
            if (rel.isEmpty() && name.equals(org.pgstrata.postgres.Lineage.FILE)) {
                continue; // each restore writes its own: never copied, whatever it is
            }
            PosixFileAttributes attrs;
            try {
                attrs = Files.readAttributes(child, PosixFileAttributes.class); // follows symlinks (tablespaces)
            } catch (NoSuchFileException e) {
                continue;
            }
            String mode = PosixFilePermissions.toString(attrs.permissions());
            if (attrs.isDirectory() && foreignVersionDirectory(rel, name)) {
                // Another major version's cluster shares this tablespace location (pg_upgrade's old and new
                // clusters do): its files are not this cluster's, as PostgreSQL's base backup leaves them out.
                continue;
            }
            if (attrs.isDirectory()) {
                if (!FOLLOWED_DIR_LINK.matcher(childRel).matches() && !EMPTY_DIRS.contains(childRel) && Files.isSymbolicLink(child)) {
                    skippedLinks.add(childRel);
                    continue;
                }
                dirs.add(new Item(childRel, child, 0, mode, attrs.lastModifiedTime().toMillis()));
                if (EMPTY_DIRS.contains(childRel)) {
                    if (childRel.equals("pg_wal")) {
                        keepEmpty(child, childRel, "archive_status");
                        keepEmpty(child, childRel, "summaries");
                    }
                    continue;
                }
                walk(child, childRel);
            } else if (attrs.isRegularFile()) {
                if (rel.isEmpty() && SKIP_FILES.contains(name)) {
                    continue;
                }
                if (name.startsWith("pg_internal.init")) {
                    continue;
                }
                if (!unlogged.isEmpty() || DB_DIR.matcher(rel).matches()) {
                    var relFile = RelationFile.parse(name);
                    if (relFile.isPresent()) {
                        if (relFile.get().temporary()) {
                            continue;
                        }
                        if (unlogged.contains(relFile.get().relfilenode()) && !relFile.get().fork().equals("init")) {
                            continue;
                        }
                    }
                }
                files.add(new Item(childRel, child, attrs.size(), mode, attrs.lastModifiedTime().toMillis()));
            }
            // sockets, fifos and dangling links are not data
        }
    }

    /** Whether {@code name} in directory {@code rel} is the version directory of another major version in a tablespace location. */
    private boolean foreignVersionDirectory(String rel, String name) {
        return ownMajor != null && VersionDirectory.isForeignEntry(rel, name, ownMajor);
    }

    private static String ownMajor(Path pgdata) {
        try {
            String major = Files.readString(pgdata.resolve("PG_VERSION")).trim();
            return major.matches("\\d+") ? major : null;
        } catch (IOException e) {
            return null;
        }
    }

    private void keepEmpty(Path parent, String parentRel, String name) throws IOException {
        Path p = parent.resolve(name);
        if (Files.isDirectory(p)) {
            PosixFileAttributes attrs = Files.readAttributes(p, PosixFileAttributes.class);
            dirs.add(new Item(parentRel + "/" + name, p, 0, PosixFilePermissions.toString(attrs.permissions()),
                    attrs.lastModifiedTime().toMillis()));
        }
    }

    private static Set<Long> unloggedRelations(List<Path> children) {
        Set<Long> result = new HashSet<>();
        for (Path c : children) {
            RelationFile.parse(c.getFileName().toString()).ifPresent(r -> {
                if (r.fork().equals("init")) {
                    result.add(r.relfilenode());
                }
            });
        }
        return result;
    }

    /** Directories whose relation files carry page checksums: databases, tablespaces, and global/ (shared catalogs). */
    private static final Pattern CHECKSUMMED_DIR = Pattern.compile("(global|base/\\d+|pg_tblspc/\\d+/[^/]+/\\d+)");

    static boolean isRelationDataPath(String rel) {
        int slash = rel.lastIndexOf('/');
        return slash > 0 && CHECKSUMMED_DIR.matcher(rel.substring(0, slash)).matches()
                && RelationFile.parse(rel.substring(slash + 1)).isPresent();
    }
}
