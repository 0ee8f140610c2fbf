package org.pgstrata.backup;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.pgstrata.api.Progress;
import org.pgstrata.db.BackupSession;
import org.pgstrata.manifest.ExternalConfig;
import org.pgstrata.postgres.ConfigText;

/**
 * The configuration files a server read from outside its data directory: config_file,
 * hba_file, ident_file, and what include, include_if_exists and include_dir pulled in (followed
 * as PostgreSQL does: relative to the including file, directories' *.conf files by name, at most
 * 10 deep). Debian's packaged clusters keep all of them in /etc/postgresql/MAJOR/NAME; a restore
 * without them has a data directory no server starts on.
 */
final class ExternalConfigScan {
    private static final int MAX_DEPTH = 10;

    record Found(List<ExternalConfig> entries, List<DataDirectoryScan.Item> items) {
    }

    private final Path pgdata;
    private final Map<Path, String> files = new LinkedHashMap<>();
    private final List<Path> dirs = new ArrayList<>();
    /** For what a relative include named: the including file and the path as written there (a restore elsewhere re-points it). */
    private final Map<Path, String[]> relative = new java.util.HashMap<>();

    private ExternalConfigScan(Path pgdata) {
        this.pgdata = pgdata;
    }

    static Found find(BackupSession session, Path pgdata, Progress progress) throws IOException {
        ExternalConfigScan s = new ExternalConfigScan(pgdata.toAbsolutePath().normalize());
        String config = session.setting("config_file");
        if (config == null) {
            progress.warn("this role may not read config_file, hba_file and ident_file: configuration files outside " + pgdata
                    + " (if any) are not in the backup; back up as a superuser or a member of pg_read_all_settings");
            return new Found(List.of(), List.of());
        }
        s.visit(Path.of(config), "config_file", 0, null, null);
        for (String name : new String[] {"hba_file", "ident_file"}) {
            String f = session.setting(name);
            if (f != null && !f.isBlank()) {
                s.files.putIfAbsent(Path.of(f).toAbsolutePath().normalize(), name);
            }
        }
        List<ExternalConfig> entries = new ArrayList<>();
        List<DataDirectoryScan.Item> items = new ArrayList<>();
        for (var e : s.files.entrySet()) {
            Path p = e.getKey();
            if (p.startsWith(s.pgdata) || !Files.isRegularFile(p)) {
                continue; // inside the data directory: copied with it
            }
            PosixFileAttributes attrs = Files.readAttributes(p, PosixFileAttributes.class);
            String stored = ExternalConfig.storedPath(p.toString());
            String[] by = s.relative.getOrDefault(p, new String[2]);
            entries.add(new ExternalConfig(e.getValue(), p.toString(), stored, by[0], by[1]));
            items.add(new DataDirectoryScan.Item(stored, p, attrs.size(), PosixFilePermissions.toString(attrs.permissions()),
                    attrs.lastModifiedTime().toMillis()));
        }
        for (Path d : s.dirs) {
            if (!d.startsWith(s.pgdata)) {
                String[] by = s.relative.getOrDefault(d, new String[2]);
                entries.add(new ExternalConfig("include_dir", d.toString(), null, by[0], by[1]));
            }
        }
        return new Found(entries, items);
    }

    /** Remembers that {@code includer} named {@code target} by the relative path {@code value}, unless it named it by an absolute one. */
    private void named(Path target, Path includer, String value) {
        if (!Path.of(value).isAbsolute() && !relative.containsKey(target)) {
            String by = includer.startsWith(pgdata) ? pgdata.relativize(includer).toString() : includer.toString();
            relative.put(target, new String[] {by, value});
        }
    }

    private void visit(Path file, String setting, int depth, Path includer, String value) throws IOException {
        Path p = file.toAbsolutePath().normalize();
        if (depth > MAX_DEPTH || files.containsKey(p) || !Files.isRegularFile(p)) {
            return;
        }
        files.put(p, setting);
        if (includer != null) {
            named(p, includer, value);
        }
        for (ConfigText.Setting s : ConfigText.settings(Files.readString(p, StandardCharsets.UTF_8))) {
            switch (s.name()) {
                case "include", "include_if_exists" -> visit(p.getParent().resolve(s.value()), "include", depth + 1, p, s.value());
                case "include_dir" -> {
                    Path d = p.getParent().resolve(s.value()).toAbsolutePath().normalize();
                    if (Files.isDirectory(d)) {
                        dirs.add(d);
                        named(d, p, s.value());
                        try (Stream<Path> list = Files.list(d)) {
                            for (Path f : list.filter(f -> f.getFileName().toString().endsWith(".conf")
                                    && !f.getFileName().toString().startsWith(".")).sorted().toList()) {
                                visit(f, "include", depth + 1, null, null);
                            }
                        }
                    }
                }
                default -> {
                }
            }
        }
    }
}
