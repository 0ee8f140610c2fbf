package org.pgstrata.restore;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.FileTrees;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.manifest.Manifest;

/**
 * The tablespaces of a backup, and where a restore puts them. Without a mapping a tablespace is
 * restored inside the copy, as a directory in pg_tblspc (the source may run on the same machine, at
 * the same location). {@code --tablespace-map OLD=NEW} puts one in directory NEW instead, linked
 * from pg_tblspc/OID as PostgreSQL links its own; OLD is the tablespace's OID or its location at
 * the backup (as the backup's tablespace_map says, and as pg_basebackup's {@code -T OLD=NEW} takes it).
 */
final class Tablespaces {
    private static final java.util.regex.Pattern TABLESPACE_DIR = java.util.regex.Pattern.compile("pg_tblspc/(\\d+)");

    /** A tablespace of a backup: its OID, and its location at the source (null when it was a directory in pg_tblspc there too). */
    record Tablespace(String oid, String location) {
        String describe() {
            return oid + (location == null ? " (inside the data directory)" : " at " + location);
        }
    }

    /** A tablespace that a restore puts in {@code dir}; {@code created} once the restore made that directory. */
    static final class Mapped {
        final Tablespace tablespace;
        final Path dir;
        boolean created;
        /** The outermost directory the restore made for {@code dir} (dir itself, or a parent it had to make too); null for none. */
        Path createdFrom;
        /** The mode an existing (empty) {@code dir} had, put back if the restore fails; null when the restore made it. */
        java.util.Set<java.nio.file.attribute.PosixFilePermission> modeBefore;

        Mapped(Tablespace tablespace, Path dir) {
            this.tablespace = tablespace;
            this.dir = dir;
        }
    }

    private Tablespaces() {
    }

    /** The tablespaces of {@code m}: every pg_tblspc/OID directory it holds, with the location its tablespace_map names. */
    static List<Tablespace> of(Manifest m) {
        Map<String, String> locations = parseMap(m.tablespaceMap());
        List<Tablespace> out = new ArrayList<>();
        for (var d : m.directories()) {
            java.util.regex.Matcher x = TABLESPACE_DIR.matcher(d.path());
            if (x.matches()) {
                String location = locations.get(x.group(1));
                out.add(new Tablespace(x.group(1), location == null || !location.startsWith("/") ? null : location));
            }
        }
        return out;
    }

    /**
     * A tablespace_map as pg_backup_stop writes it: a line per tablespace, its OID, a space, and
     * its location, in which a backslash makes the next character (a newline, a carriage return or
     * a backslash) part of the location.
     */
    static Map<String, String> parseMap(String text) {
        Map<String, String> out = new LinkedHashMap<>();
        if (text == null) {
            return out;
        }
        StringBuilder line = new StringBuilder();
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '\\' && i + 1 < text.length()) {
                line.append(text.charAt(++i));
            } else if (c == '\n' || c == '\r') {
                addEntry(out, line.toString());
                line.setLength(0);
            } else {
                line.append(c);
            }
        }
        addEntry(out, line.toString());
        return out;
    }

    private static void addEntry(Map<String, String> out, String line) {
        int space = line.indexOf(' ');
        if (space > 0 && line.substring(0, space).chars().allMatch(Character::isDigit)) {
            out.put(line.substring(0, space), line.substring(space + 1));
        }
    }

    /**
     * What {@code specs} ("OLD=NEW", a backslash before '=' keeps it in OLD) map, checked against
     * the backup's tablespaces and the restore's target; nothing is touched yet.
     */
    static List<Mapped> resolve(Manifest m, List<String> specs, Path target) {
        if (specs.isEmpty()) {
            return List.of();
        }
        List<Tablespace> all = of(m);
        String known = all.isEmpty() ? "backup " + m.id() + " has no tablespace"
                : "backup " + m.id() + "'s tablespaces: " + String.join(", ", all.stream().map(Tablespace::describe).toList());
        List<Mapped> out = new ArrayList<>();
        for (String spec : specs) {
            int eq = unescapedEquals(spec);
            if (eq <= 0 || eq == spec.length() - 1) {
                throw usage("--tablespace-map " + spec + ": expected OLD=NEW, OLD the tablespace's OID or its location in the backup", known);
            }
            String old = spec.substring(0, eq).replace("\\=", "=");
            String dirText = spec.substring(eq + 1).replace("\\=", "="); // as pg_basebackup -T: '\=' is an '=' on either side
            Tablespace t = all.stream().filter(s -> s.oid().equals(old) || s.location() != null && samePath(s.location(), old))
                    .findFirst().orElseThrow(() -> usage("--tablespace-map " + spec + ": " + old + " is no tablespace of backup " + m.id(), known));
            Path dir;
            try {
                dir = Path.of(dirText);
            } catch (java.nio.file.InvalidPathException e) {
                throw usage("--tablespace-map " + spec + ": " + e.getMessage(), "name an absolute directory after '='");
            }
            if (!dir.isAbsolute()) {
                throw usage("--tablespace-map " + spec + ": " + dirText + " is not an absolute path", "name an absolute directory after '='");
            }
            dir = dir.normalize();
            Path real = real(dir);
            Path realTarget = real(target.toAbsolutePath().normalize());
            if (dir.startsWith(target) || target.startsWith(dir) || real.startsWith(realTarget) || realTarget.startsWith(real)) {
                throw usage("--tablespace-map " + spec + ": " + dir + " and the restore's target " + target + " contain one another",
                        "choose a directory outside the data directory (a tablespace left unmapped is restored inside it)");
            }
            for (Mapped other : out) {
                if (other.tablespace.oid().equals(t.oid())) {
                    throw usage("--tablespace-map maps tablespace " + t.oid() + " twice", "give one --tablespace-map per tablespace");
                }
                Path otherReal = real(other.dir);
                if (other.dir.startsWith(dir) || dir.startsWith(other.dir) || otherReal.startsWith(real) || real.startsWith(otherReal)) {
                    throw usage("--tablespace-map puts tablespaces " + other.tablespace.oid() + " and " + t.oid() + " in " + other.dir + " and "
                            + dir + ", one inside the other", "give each tablespace a directory of its own");
                }
            }
            out.add(new Mapped(t, dir));
        }
        return out;
    }

    /**
     * Where {@code dir} (absolute, normalized) really is: its longest existing part with every
     * link followed, and the rest as given. Two names can be one directory (/srv/ts through a
     * link to /mnt/disk2), and two tablespaces in one directory would share its version
     * directory. A part that cannot be followed (a dangling link) is taken as written.
     */
    private static Path real(Path dir) {
        Path existing = dir;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return dir;
        }
        try {
            return existing.toRealPath().resolve(existing.relativize(dir)).normalize();
        } catch (IOException e) {
            return dir;
        }
    }

    private static int unescapedEquals(String spec) {
        for (int i = 0; i < spec.length(); i++) {
            if (spec.charAt(i) == '=' && (i == 0 || spec.charAt(i - 1) != '\\')) {
                return i;
            }
        }
        return -1;
    }

    private static boolean samePath(String location, String given) {
        try {
            return Path.of(location).normalize().equals(Path.of(given).normalize());
        } catch (java.nio.file.InvalidPathException e) {
            return false;
        }
    }

    private static PgstrataException usage(String message, String hint) {
        return new PgstrataException(ErrorCode.USAGE, message, hint);
    }

    /** Refuses a mapped directory that exists and is not an empty directory, before anything is written. */
    static void requireEmpty(List<Mapped> mapped) {
        for (Mapped t : mapped) {
            if (!Files.exists(t.dir, LinkOption.NOFOLLOW_LINKS)) {
                continue;
            }
            // A link to an empty directory (/srv/ts -> /mnt/disk2/ts) will do, as for pg_basebackup: the files go through it.
            boolean empty;
            try {
                empty = Files.isDirectory(t.dir) && FileTrees.isEmpty(t.dir);
            } catch (IOException e) {
                empty = false;
            }
            if (!empty) {
                throw new PgstrataException(ErrorCode.TARGET_NOT_EMPTY, "cannot restore tablespace " + t.tablespace.oid() + " into " + t.dir
                        + ": it exists and is not an empty directory" + (Files.isSymbolicLink(t.dir) ? " (nor a link to one)" : "")
                        + "; nothing was written", "name an empty or new directory");
            }
        }
    }

    /** Makes each mapped directory (mode 0700) and its link pg_tblspc/OID in {@code target}. */
    static void link(List<Mapped> mapped, Path target) throws IOException {
        for (Mapped t : mapped) {
            if (!Files.exists(t.dir, LinkOption.NOFOLLOW_LINKS)) {
                Path top = t.dir;
                while (top.getParent() != null && !Files.exists(top.getParent(), LinkOption.NOFOLLOW_LINKS)) {
                    top = top.getParent();
                }
                Files.createDirectories(t.dir);
                t.created = true;
                t.createdFrom = top;
            } else {
                t.modeBefore = Files.getPosixFilePermissions(t.dir);
            }
            // As PostgreSQL makes a tablespace's location; the backup's mode for it is set through the link with the other directories.
            Files.setPosixFilePermissions(t.dir, java.nio.file.attribute.PosixFilePermissions.fromString("rwx------"));
            Path link = target.resolve("pg_tblspc").resolve(t.tablespace.oid());
            Files.createDirectories(link.getParent());
            Files.createSymbolicLink(link, t.dir);
        }
    }

    /** Removes what a failed restore wrote into the mapped directories, and those it made. */
    static void cleanUp(List<Mapped> mapped) {
        for (Mapped t : mapped) {
            try {
                // what it made: the directory, and the parents it had to make for it; in a directory it found, what it wrote
                // there (through a link, in the directory the link leads to), the directory itself kept with its mode
                Path root = t.created && t.createdFrom != null ? t.createdFrom : t.dir.toRealPath();
                try (Stream<Path> walk = Files.walk(root)) {
                    for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                        if (t.created || !p.equals(root)) {
                            Files.deleteIfExists(p);
                        }
                    }
                }
                if (!t.created && t.modeBefore != null) {
                    Files.setPosixFilePermissions(root, t.modeBefore);
                }
            } catch (IOException e) {
                // best effort: the error that brought us here is the one to report
            }
        }
    }

    /**
     * The directories whose filesystems hold what a restore into {@code target} wrote: the target,
     * and where its pg_tblspc links and a linked pg_wal lead (a delta restore writes through the
     * links it finds; a mapped tablespace may be on another disk).
     */
    static List<Path> fileSystemRoots(Path target) throws IOException {
        List<Path> roots = new ArrayList<>(List.of(target));
        List<Path> links = new ArrayList<>();
        links.add(target.resolve("pg_wal"));
        Path tblspc = target.resolve("pg_tblspc");
        if (Files.isDirectory(tblspc, LinkOption.NOFOLLOW_LINKS)) {
            try (Stream<Path> s = Files.list(tblspc)) {
                links.addAll(s.toList());
            }
        }
        for (Path l : links) {
            if (Files.isSymbolicLink(l) && Files.isDirectory(l)) {
                roots.add(l.toRealPath());
            }
        }
        return roots;
    }

    /** Whether {@code target} holds a tablespace as a directory in pg_tblspc (which PostgreSQL starts with only by a developer setting). */
    static boolean anyInPlace(Path target) throws IOException {
        Path tblspc = target.resolve("pg_tblspc");
        if (!Files.isDirectory(tblspc, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        try (Stream<Path> s = Files.list(tblspc)) {
            return s.anyMatch(p -> Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS));
        }
    }
}
