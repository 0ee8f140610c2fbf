package org.pgstrata.restore;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;
import org.pgstrata.api.FileTrees;
import org.pgstrata.api.Progress;
import org.pgstrata.api.Self;
import org.pgstrata.manifest.ExternalConfig;
import org.pgstrata.manifest.Manifest;
import org.pgstrata.postgres.AutoConf;
import org.pgstrata.postgres.ConfValue;
import org.pgstrata.postgres.ConfigText;

/**
 * Puts the configuration files that the server read from outside its data directory back
 * where a restored server finds them: beside the data (so that {@code postgres -D TARGET} reads
 * TARGET/postgresql.conf), or in the directory {@code --config-dir} names, keeping their layout
 * relative to postgresql.conf's directory (so that relative includes such as Debian's
 * {@code include_dir = 'conf.d'} still work). Then it points the settings that named the
 * original locations at the restored copies, and nothing else: data_directory is commented out
 * (beside the data) or names the target (with --config-dir); hba_file, ident_file and
 * external_pid_file (which would overwrite and then remove the source server's) are set in the
 * target's postgresql.auto.conf, which the server reads last.
 */
final class ExternalConfigRestore {
    private ExternalConfigRestore() {
    }

    /** Where each file goes: its path relative to postgresql.conf's directory, else its own name, in {@code root}. */
    static Path destination(ExternalConfig e, Path configDir, Path root) {
        Path p = Path.of(e.path());
        if (configDir != null && p.startsWith(configDir)) {
            return root.resolve(configDir.relativize(p).toString());
        }
        if (e.setting().equals("hba_file") || e.setting().equals("ident_file")) {
            return root.resolve(p.getFileName().toString());
        }
        return root.resolve(ExternalConfig.PREFIX + e.path()); // an include from elsewhere: kept apart, and named by its original path
    }

    /** The files of {@code m} outside its data directory that would land in {@code root}: what must not exist there yet. */
    static List<Path> destinations(Manifest m, Path root) {
        Path configDir = configDir(m);
        return m.externalConfigOrEmpty().stream().filter(e -> e.stored() != null).map(e -> destination(e, configDir, root)).toList();
    }

    private static Path configDir(Manifest m) {
        return m.externalConfigOrEmpty().stream().filter(e -> e.setting().equals("config_file")).findFirst()
                .map(e -> Path.of(e.path()).getParent()).orElse(null);
    }

    /** Moves the restored external files into place and adjusts the settings; {@code dir} null means beside the data. */
    static void place(Manifest m, Path target, Path dir, Progress progress) throws IOException {
        List<ExternalConfig> all = m.externalConfigOrEmpty();
        if (all.isEmpty()) {
            return;
        }
        Path root = dir == null ? target : dir.toAbsolutePath().normalize();
        Path configDir = configDir(m);
        Path restoredConf = null;
        List<String> auto = new ArrayList<>();
        List<String> placed = new ArrayList<>();
        List<Path> includers = new ArrayList<>(List.of(target.resolve("postgresql.conf")));
        java.util.Map<String, Path> moved = new java.util.LinkedHashMap<>();
        for (ExternalConfig e : all) {
            Path dest = destination(e, configDir, root);
            if (!e.setting().equals("hba_file") && !e.setting().equals("ident_file")) {
                moved.put(e.path(), dest);
            }
            if (e.stored() == null) {
                Files.createDirectories(dest); // an include_dir, perhaps empty: the server refuses a missing one
                continue;
            }
            if (!e.setting().equals("hba_file") && !e.setting().equals("ident_file")) {
                includers.add(dest);
            }
            Path from = target.resolve(e.stored());
            Files.createDirectories(dest.getParent());
            if (Files.exists(dest) && !dest.equals(from)) {
                progress.warn(dest + " from the data directory is replaced by " + e.path() + ", the file the server read");
            }
            if (!dest.equals(from)) {
                Files.move(from, dest, StandardCopyOption.REPLACE_EXISTING);
            }
            placed.add(e.path() + " -> " + dest);
            switch (e.setting()) {
                case "config_file" -> restoredConf = dest;
                case "hba_file", "ident_file" -> auto.add(ConfValue.line(e.setting(), dest.toString()));
                default -> {
                }
            }
        }
        removeEmpty(target.resolve(ExternalConfig.PREFIX));
        // An include by absolute path would read the source's live file (changed since, or absent on another host), not its restored copy.
        for (Path file : includers) {
            if (!Files.isRegularFile(file)) {
                continue;
            }
            String text = Files.readString(file, StandardCharsets.UTF_8);
            String adjusted = text;
            for (var mv : moved.entrySet()) {
                if (Path.of(mv.getKey()).equals(mv.getValue())) {
                    continue; // restored where it was (the cluster itself, in place): nothing to redirect
                }
                adjusted = ConfigText.redirectInclude(adjusted, mv.getKey(), mv.getValue().toString(),
                        "pgstrata restore: the backup's copy of " + mv.getKey() + " is " + mv.getValue());
            }
            if (!adjusted.equals(text)) {
                Files.writeString(file, adjusted, StandardCharsets.UTF_8);
            }
        }
        // An include by a relative path that led out of the data directory (or of the configuration directory) resolves,
        // in the restored file, against another directory: it is pointed at the restored copy too.
        for (ExternalConfig e : all) {
            if (e.includedBy() == null || e.includedAs() == null || e.setting().equals("hba_file") || e.setting().equals("ident_file")) {
                continue;
            }
            Path file = Path.of(e.includedBy()).isAbsolute() ? moved.get(e.includedBy()) : target.resolve(e.includedBy());
            Path dest = moved.get(e.path());
            if (file == null || dest == null || !Files.isRegularFile(file) || file.getParent().resolve(e.includedAs()).normalize().equals(dest)) {
                continue; // the includer was not restored, or its relative path still leads to the restored copy
            }
            String text = Files.readString(file, StandardCharsets.UTF_8);
            String adjusted = ConfigText.redirectInclude(text, e.includedAs(), dest.toString(),
                    "pgstrata restore: the backup's copy of " + e.path() + " is " + dest);
            if (!adjusted.equals(text)) {
                Files.writeString(file, adjusted, StandardCharsets.UTF_8);
            }
        }
        if (restoredConf != null) {
            String text = Files.readString(restoredConf, StandardCharsets.UTF_8);
            boolean pidFile = false;
            boolean dataDir = false;
            for (ConfigText.Setting s : ConfigText.settings(text)) {
                pidFile |= s.name().equals("external_pid_file") && !s.value().isEmpty();
                dataDir |= s.name().equals("data_directory");
            }
            if (dataDir || dir != null) {
                String adjusted = ConfigText.commentOut(text, "data_directory", "pgstrata restore: the data is in " + target);
                if (dir != null) {
                    adjusted += "\n# Added by pgstrata restore of backup " + m.id() + "\ndata_directory = " + ConfValue.quote(target.toString())
                            + "\n";
                }
                Files.writeString(restoredConf, adjusted, StandardCharsets.UTF_8);
            }
            if (pidFile) {
                auto.add(ConfValue.line("external_pid_file", ""));
            }
        }
        if (!auto.isEmpty()) {
            AutoConf.append(target, "Added by pgstrata restore of backup " + m.id() + ": the configuration files restored from outside the"
                    + " data directory", String.join("", auto));
        }
        progress.step("restored " + placed.size() + " configuration file(s) from outside the source's data directory: " + String.join(", ", placed));
    }

    /** Whether the configuration files the source read from outside its data directory still exist where it read them. */
    static boolean originalsPresent(Manifest m) {
        List<ExternalConfig> all = m.externalConfigOrEmpty();
        return !all.isEmpty() && all.stream().allMatch(e -> Files.exists(Path.of(e.path())));
    }

    /**
     * For a delta restore in place: the cluster keeps reading its own configuration files where
     * they are (pg_ctlcluster names them), so the backup's copies are not placed; they are removed
     * from the target, and the user is told how to have them instead.
     */
    static void leaveInPlace(Manifest m, Path target, Progress progress) throws IOException {
        Path stored = target.resolve(ExternalConfig.PREFIX);
        if (Files.exists(stored)) {
            try (Stream<Path> walk = Files.walk(stored)) {
                for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                    Files.delete(p);
                }
            }
        }
        Path conf = configDir(m);
        progress.step("the configuration files outside the data directory" + (conf == null ? "" : " (" + conf + ")")
                + " are left as they are; restore with --config-dir DIR to have the backup's copies");
    }

    private static void removeEmpty(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                if (Files.isDirectory(p) && FileTrees.isEmpty(p)) {
                    Files.delete(p);
                }
            }
        }
    }
}
