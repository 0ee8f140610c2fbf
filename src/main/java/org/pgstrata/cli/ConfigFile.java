package org.pgstrata.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.toml.TomlMapper;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;

/**
 * pgstrata.conf: a TOML file with a {@code [global]} table and one table per cluster (a stanza),
 * chosen with {@code --stanza NAME}. Keys are the long option names; a stanza's value beats the
 * global one, the environment beats both, the command line beats everything. Read once, checked
 * whole (syntax, unknown keys, the stanza asked for), then only looked up.
 *
 * <pre>
 * [global]
 * repo = "/var/lib/pgstrata"
 * retain-full = 2
 *
 * [main]
 * pgdata = "/var/lib/postgresql/15/main"
 * port = 5432
 * </pre>
 *
 * The S3 credentials {@code s3-key} and {@code s3-key-secret} exist only here (never on a command
 * line, where a process list shows them); a file that holds them is refused when every user may
 * read it. No value from the file is ever printed by this class.
 */
final class ConfigFile {
    /** Where the file is when neither --config nor PGSTRATA_CONFIG names one. */
    static final Path DEFAULT = Path.of("/etc/pgstrata/pgstrata.conf");

    /**
     * The keys a file may set, each with the environment variable that beats it (or null). The
     * others are per-run choices (--type, --to, --target-*, --json ...) and stay on the command line.
     */
    static final Map<String, String> KEYS;

    /**
     * Keys that name a directory: absolute in the file. A relative one would name a directory
     * below whichever one pgstrata runs in: the user's shell for wal setup and backup, but the
     * data directory for the archive_command and restore_command that read the same stanza, so
     * the server would archive somewhere else than where backups look.
     */
    static final Set<String> PATHS = Set.of("repo", "pgdata", "pg-bin");

    /** Keys that are secrets: never printed, and the file must not be world-readable. */
    static final Set<String> SECRETS = Set.of("s3-key", "s3-key-secret", "cipher-pass");

    static {
        Map<String, String> k = new LinkedHashMap<>();
        k.put("repo", "PGSTRATA_REPO");
        k.put("s3-endpoint", null);
        k.put("s3-region", "AWS_REGION");
        k.put("s3-path-style", null);
        k.put("s3-key", "AWS_ACCESS_KEY_ID");
        k.put("s3-key-secret", "AWS_SECRET_ACCESS_KEY");
        k.put("cipher-pass", "PGSTRATA_CIPHER_PASS");
        k.put("encrypt", null);
        k.put("pgdata", "PGDATA");
        k.put("host", "PGHOST");
        k.put("port", "PGPORT");
        k.put("user", "PGUSER");
        k.put("dbname", "PGDATABASE");
        k.put("pg-bin", "PGSTRATA_PG_BIN");
        k.put("compress", null);
        k.put("compress-level", null);
        k.put("jobs", null);
        k.put("archive-timeout", null);
        k.put("checkpoint", null);
        k.put("retain-full", null);
        k.put("retain-days", null);
        k.put("retain-logical", null);
        k.put("slot", null);
        k.put("check-timeout", null);
        KEYS = Collections.unmodifiableMap(k);
    }

    private final Path path;
    private final boolean named;
    private final String stanza;
    private final Map<String, String> global;
    private final Map<String, String> section;

    private ConfigFile(Path path, boolean named, String stanza, Map<String, String> global, Map<String, String> section) {
        this.path = path;
        this.named = named;
        this.stanza = stanza;
        this.global = global;
        this.section = section;
    }

    /** No file: every lookup answers null. */
    static ConfigFile none() {
        return new ConfigFile(null, false, null, Map.of(), Map.of());
    }

    /**
     * The file that {@code configOption}, else PGSTRATA_CONFIG, else {@code defaultPath} names,
     * with {@code stanza} (may be null) selected. A file named explicitly must exist; the
     * default one may be absent unless a stanza is asked for.
     */
    static ConfigFile load(String configOption, String stanza, Map<String, String> env, Path defaultPath) {
        String fromEnv = env.get("PGSTRATA_CONFIG");
        boolean named = configOption != null || (fromEnv != null && !fromEnv.isBlank());
        Path path = configOption != null ? Path.of(configOption) : named ? Path.of(fromEnv) : defaultPath;
        if (stanza != null && (stanza.isBlank() || stanza.equals("global"))) {
            throw new PgstrataException(ErrorCode.USAGE, "invalid --stanza '" + stanza + "'", "name a cluster's section of " + path
                    + " ([global] holds what all stanzas share)");
        }
        if (configOption != null && configOption.isEmpty()) {
            // Path.of("") is the working directory: a script's unset variable ("--config $CONF") read as a directory.
            throw new PgstrataException(ErrorCode.USAGE, "--config names no file (it is empty)", "give the configuration file's path, "
                    + "or leave --config out to use PGSTRATA_CONFIG, else " + defaultPath);
        }
        if (Files.isDirectory(path)) {
            throw new PgstrataException(ErrorCode.USAGE, "configuration file " + path + " is a directory", "name the file itself ("
                    + (configOption != null ? "--config" : named ? "PGSTRATA_CONFIG" : "the default") + ", such as " + DEFAULT + ")");
        }
        String text;
        try {
            text = Files.readString(path, StandardCharsets.UTF_8);
        } catch (NoSuchFileException e) {
            if (named) {
                throw new PgstrataException(ErrorCode.NOT_FOUND, "configuration file " + path + " does not exist",
                        configOption != null ? "check --config" : "check PGSTRATA_CONFIG");
            }
            if (stanza != null) {
                throw new PgstrataException(ErrorCode.USAGE, "--stanza " + stanza + " needs a configuration file, and " + path
                        + " does not exist", "write it (a [global] section and a [" + stanza + "] section), or name one with --config FILE");
            }
            return none();
        } catch (AccessDeniedException e) {
            // Exit 45 with the owner and mode, as for every other file: "permission denied" as an I/O error (22) named neither.
            throw new PgstrataException(ErrorCode.PERMISSION_DENIED, "permission denied: user " + System.getProperty("user.name", "?")
                    + " cannot read configuration file " + path + org.pgstrata.api.PermissionDenied.ownerAndMode(path), "make it readable by the user that runs pgstrata "
                    + "(for example chgrp postgres and chmod 640)", e);
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot read configuration file " + path + ": " + e.getMessage(), null);
        }
        refuseWorldWritable(path);
        if (text.startsWith("\uFEFF")) {
            text = text.substring(1); // a byte order mark (a Windows editor's): not content, and the TOML parser calls it an unknown token
        }
        JsonNode root;
        try {
            root = new TomlMapper().readTree(text);
        } catch (JacksonException e) {
            int line = e.getLocation() == null ? -1 : e.getLocation().getLineNr();
            String hint = "values are TOML: strings in double quotes (repo = \"/var/lib/pgstrata\"), numbers and true/false bare";
            // Jackson tells a key set twice only at the next token, lines later, and without the key.
            String duplicate = String.valueOf(e.getOriginalMessage()).startsWith("Duplicate key") ? duplicateKey(text) : null;
            if (duplicate != null) {
                throw new PgstrataException(ErrorCode.USAGE, path + ":" + duplicate, "set each key once per section");
            }
            // Jackson's own words without the excerpt of the source, which may hold a secret.
            throw new PgstrataException(ErrorCode.USAGE, where(path, line) + ": not valid TOML: " + e.getOriginalMessage(), hint);
        }
        Map<String, Map<String, String>> sections = new LinkedHashMap<>();
        java.util.SortedSet<String> secrets = new java.util.TreeSet<>(); // what the file holds, for the refusal's words
        for (var top : iterable(root)) {
            String name = top.getKey();
            if (!top.getValue().isObject()) {
                throw new PgstrataException(ErrorCode.USAGE, where(path, lineOf(text, null, name)) + ": '" + name
                        + "' is outside any section", "put it under [global] or under a stanza's [NAME]");
            }
            Map<String, String> values = new LinkedHashMap<>();
            for (var kv : iterable(top.getValue())) {
                String key = kv.getKey();
                JsonNode v = kv.getValue();
                if (!KEYS.containsKey(key)) {
                    throw new PgstrataException(ErrorCode.USAGE, where(path, lineOf(text, name, key)) + ": unknown key '" + key + "' in ["
                            + name + "]" + suggestion(key), "the keys are the long option names that a file may set: "
                            + String.join(", ", KEYS.keySet()));
                }
                if (!v.isValueNode() || v.isNull()) {
                    throw new PgstrataException(ErrorCode.USAGE, where(path, lineOf(text, name, key)) + ": '" + key + "' in [" + name
                            + "] must be a single value", "write key = \"text\", key = 123 or key = true");
                }
                if (SECRETS.contains(key)) {
                    secrets.add(key.equals("cipher-pass") ? "an encrypted repository's passphrase (cipher-pass)" : "S3 credentials");
                }
                if (PATHS.contains(key) && !v.asText().isEmpty() && !(key.equals("repo") && org.pgstrata.storage.s3.S3Location.isS3(v.asText()))
                        && !Path.of(v.asText()).isAbsolute()) {
                    throw new PgstrataException(ErrorCode.USAGE, where(path, lineOf(text, name, key)) + ": '" + key + "' in [" + name
                            + "] is a relative path, which names another directory from each working directory (archive_command and "
                            + "restore_command run in the data directory)", "write it as an absolute path (starting with /)");
                }
                values.put(key, v.asText());
            }
            sections.put(name, values);
        }
        if (!secrets.isEmpty()) {
            refuseWorldReadable(path, String.join(" and ", secrets));
        }
        if (stanza != null && !sections.containsKey(stanza)) {
            List<String> stanzas = new ArrayList<>(sections.keySet());
            stanzas.remove("global");
            throw new PgstrataException(ErrorCode.USAGE, "unknown stanza '" + stanza + "': " + path + " has "
                    + (stanzas.isEmpty() ? "none" : String.join(", ", stanzas)), "add a [" + stanza + "] section, or pick one of those");
        }
        return new ConfigFile(path, named, stanza, sections.getOrDefault("global", Map.of()),
                stanza == null ? Map.of() : sections.get(stanza));
    }

    /** The value for {@code key}: the stanza's, else the global one; null when neither sets it. */
    String value(String key) {
        String v = section.get(key);
        return v != null ? v : global.get(key);
    }

    /** The file read, or null. */
    Path path() {
        return path;
    }

    /** The stanza selected, or null. */
    String stanza() {
        return stanza;
    }

    /**
     * The arguments that make another pgstrata process (archive_command) read this same
     * configuration: --stanza NAME, and --config FILE when it is not the default file. Empty
     * without a stanza.
     */
    List<String> selfArguments() {
        if (stanza == null) {
            return List.of();
        }
        List<String> a = new ArrayList<>();
        if (named) {
            a.add("--config");
            a.add(path.toAbsolutePath().normalize().toString());
        }
        a.add("--stanza");
        a.add(stanza);
        return a;
    }

    /**
     * The file's S3 credentials as the AWS SDK's system properties (aws.accessKeyId,
     * aws.secretAccessKey), which its default chain reads first; empty when the file has none or
     * the environment names credentials itself (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY or
     * AWS_PROFILE), which then win as the environment does for every key.
     */
    Map<String, String> s3Credentials(Map<String, String> env) {
        String key = value("s3-key");
        String secret = value("s3-key-secret");
        if (key == null && secret == null) {
            return Map.of();
        }
        if (key == null || secret == null) {
            throw new PgstrataException(ErrorCode.USAGE, path + ": s3-key and s3-key-secret go together", "set both, or neither");
        }
        for (String e : List.of("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE")) {
            if (env.get(e) != null && !env.get(e).isBlank()) {
                return Map.of();
            }
        }
        return Map.of("aws.accessKeyId", key, "aws.secretAccessKey", secret);
    }

    /**
     * The passphrase of an encrypted repository from the environment (PGSTRATA_CIPHER_PASS), else
     * from the file's cipher-pass; and whether a repository the command creates is encrypted
     * (encrypt = true). --cipher-pass-file, on the command line, beats both.
     */
    void useCipherPass(Map<String, String> env) {
        String fromEnv = org.pgstrata.api.CipherPass.fromEnvironment(env, org.pgstrata.api.CipherPass.ENV);
        String fromFile = value("cipher-pass");
        org.pgstrata.api.CipherPass.Source source = null;
        if (fromEnv != null && !fromEnv.isEmpty()) {
            source = new org.pgstrata.api.CipherPass.Source(org.pgstrata.api.CipherPass.ENV, fromEnv.toCharArray());
        } else if (fromFile != null && !fromFile.isEmpty()) {
            source = new org.pgstrata.api.CipherPass.Source("cipher-pass in " + path + (stanza != null ? " [" + stanza + "]" : ""),
                    fromFile.toCharArray());
        }
        String encrypt = value("encrypt");
        if (encrypt != null && !encrypt.equals("true") && !encrypt.equals("false")) {
            throw new PgstrataException(ErrorCode.USAGE, path + ": encrypt = " + encrypt + " is neither true nor false", "set encrypt = true or false");
        }
        org.pgstrata.api.CipherPass.use(source, "true".equals(encrypt));
    }

    /**
     * A file that every user may change decides for whoever runs pgstrata (root, postgres, the
     * server's archive_command) where backups and WAL go and which binaries run: refused.
     */
    private static void refuseWorldWritable(Path path) {
        try {
            if (Files.getPosixFilePermissions(path).contains(PosixFilePermission.OTHERS_WRITE)) {
                throw new PgstrataException(ErrorCode.USAGE, "configuration file " + path + " may be changed by every user (it names the "
                        + "repository and the binaries pgstrata runs)", "chmod o-w " + path + " (640 or 644, owned by root or the user that runs pgstrata)");
            }
        } catch (UnsupportedOperationException | IOException e) {
            // No POSIX permissions to check (or none readable): nothing to refuse on.
        }
    }

    private static void refuseWorldReadable(Path path, String secrets) {
        try {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(path);
            if (perms.contains(PosixFilePermission.OTHERS_READ)) {
                throw new PgstrataException(ErrorCode.USAGE, "configuration file " + path + " holds " + secrets + " and every user may read it",
                        "chmod o-r " + path + " (640 with the group of the user that runs pgstrata, or 600)");
            }
        } catch (UnsupportedOperationException | IOException e) {
            // No POSIX permissions to check (or none readable): nothing to refuse on.
        }
    }

    private static String where(Path path, int line) {
        return line > 0 ? path + ":" + line : path.toString();
    }

    /**
     * The line on which {@code key} is set in section {@code section} (null: before any section),
     * for messages; -1 when it cannot be told (a dotted or inline key).
     */
    static int lineOf(String text, String section, String key) {
        String[] lines = text.split("\n", -1);
        String current = null;
        for (int i = 0; i < lines.length; i++) {
            String l = lines[i].strip();
            if (l.startsWith("[")) {
                current = sectionName(l);
                continue;
            }
            boolean inSection = section == null ? current == null : section.equals(current);
            if (inSection && (l.matches(java.util.regex.Pattern.quote(key) + "\\s*[=.].*")
                    || l.matches("[\"']" + java.util.regex.Pattern.quote(key) + "[\"']\\s*=.*"))) {
                return i + 1;
            }
        }
        return -1;
    }

    /** The name of the section a header line {@code l} (stripped) opens. */
    private static String sectionName(String l) {
        String name = l.replaceAll("^\\[+\\s*|\\s*\\]+\\s*(#.*)?$", "");
        if (name.length() >= 2 && name.startsWith("\"") && name.endsWith("\"")) {
            name = name.substring(1, name.length() - 1);
        }
        return name;
    }

    /**
     * "LINE: 'key' in [section] is set again (first on line N)" for the first key that a section
     * sets twice, or null when none does (as far as a plain {@code key = value} line tells).
     */
    static String duplicateKey(String text) {
        String[] lines = text.split("\n", -1);
        Map<String, Integer> seen = new java.util.HashMap<>();
        String current = null;
        java.util.regex.Pattern keyLine = java.util.regex.Pattern.compile("([\"']?)([A-Za-z0-9_-]+)\\1\\s*=.*");
        for (int i = 0; i < lines.length; i++) {
            String l = lines[i].strip();
            if (l.startsWith("[")) {
                current = sectionName(l);
                continue;
            }
            java.util.regex.Matcher m = keyLine.matcher(l);
            if (m.matches()) {
                Integer first = seen.putIfAbsent(current + "\u0000" + m.group(2), i + 1);
                if (first != null) {
                    return (i + 1) + ": '" + m.group(2) + "'" + (current == null ? "" : " in [" + current + "]") + " is set again (first on line "
                            + first + ")";
                }
            }
        }
        return null;
    }

    /** ", did you mean 'x'?" for a key one or two edits from a known one. */
    private static String suggestion(String key) {
        TreeSet<String> close = new TreeSet<>();
        for (String k : KEYS.keySet()) {
            if (distance(key, k) <= 2) {
                close.add(k);
            }
        }
        return close.isEmpty() ? "" : " (did you mean '" + close.first() + "'?)";
    }

    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + (a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1));
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }

    private static Iterable<Map.Entry<String, JsonNode>> iterable(JsonNode node) {
        return node.properties();
    }
}
