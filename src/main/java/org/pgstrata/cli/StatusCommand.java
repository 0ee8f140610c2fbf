package org.pgstrata.cli;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PermissionDenied;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.drill.Health;
import org.pgstrata.storage.s3.S3Location;
import picocli.CommandLine.Command;
import picocli.CommandLine.ITypeConverter;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.TypeConversionException;

@Command(name = "status", description = {
    "Check that a repository can be restored from, as a monitoring plugin (Nagios, Icinga) does. It only",
    "reads the repository, and reports each check with what it measured and the limit it applied.",
    "Of the archived WAL it reads only the newest segments, back to the newest transaction, so that",
    "its time does not grow with the archive; 'pgstrata verify' reads and checks every archived file.",
    "",
    "CRITICAL: the repository holds no intact backup that restores, or its newest (physical or",
    "logical, by stop time, except that no physical backup counts as older than one before it in the",
    "WAL, as expire orders them; one whose own WAL the archive lacks is named, not counted) stopped",
    "longer ago than --max-backup-age (check backup-age); the newest drill of the repository, over all",
    "its backups, failed (last-drill); a segment is missing from the archived WAL (a gap, or one of a",
    "backup's own WAL lost at the archive's end), or an archived file is damaged, which counts as one",
    "gap and skips archive-lag (archive-gaps).",
    "WARNING: no drill passed within --max-drill-age, and a repository never drilled counts as such",
    "(drill-age); the newest archived point (the newest transaction in the archived WAL, or a backup's",
    "stop when that is newer) is older than --max-archive-lag, which a database that commits nothing",
    "for that long shows too (archive-lag); a backup's manifest cannot be read, as list shows",
    "(damaged-backups); the newest backup, drill or archived point is dated more than 5 minutes ahead",
    "of this machine's clock, which is then wrong somewhere (its check warns instead of judging an age).",
    "A repository that archives no WAL skips both archive checks and says so. A limit of 0 turns its",
    "check off.",
    "",
    "The first line is 'PGSTRATA OK - summary' (or WARNING, CRITICAL, UNKNOWN), naming the worst",
    "problems; one line per check follows: ok, warning, critical or skipped, its name, what it found.",
    "Exit code 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN, the Nagios plugin convention. UNKNOWN means that",
    "the repository could not be read (it does not exist, its passphrase is missing or wrong, a file is",
    "refused), or the configuration file could not be used (missing, not valid TOML, an unknown key or",
    "stanza, a bad value), and the first line says why. A mistake on the command line itself (an unknown option, a",
    "bad duration) exits 2 as on every command, with the error on stderr and nothing on stdout.",
    "",
    "--json prints {status, exitCode, repository, checks: [{name, status, message, value, threshold}],",
    "newestBackup: {id, stopTime}, lastDrill: {backupId, time, result}, lastProven: {backupId, time}};",
    "values and thresholds are seconds or counts, and null where there is none.",
    "--prometheus FILE also writes the result for node_exporter's textfile collector, replacing FILE",
    "atomically. Its gauges are pgstrata_status (0 to 3), pgstrata_backups (intact ones),",
    "pgstrata_newest_backup_age_seconds, pgstrata_last_drill_passed (1 or 0),",
    "pgstrata_last_proven_age_seconds, pgstrata_archive_gaps, pgstrata_archive_lag_seconds and",
    "pgstrata_status_check{check} (0 to 2), each labelled with repo. A gauge with nothing to measure",
    "(never drilled, never proven, no archive) is left out; an UNKNOWN result writes pgstrata_status",
    "alone."})
final class StatusCommand extends BaseCommand {
    @Mixin
    RepoOptions repo;

    @Option(names = "--max-backup-age", paramLabel = "DUR", defaultValue = "26h", converter = Limit.class,
            description = "Report CRITICAL when the newest backup stopped longer ago than this (default: ${DEFAULT-VALUE}). "
                    + "DUR is a whole number with the unit s, m, h or d (a bare number is seconds), and 0 turns the check off.")
    Duration maxBackupAge;

    @Option(names = "--max-drill-age", paramLabel = "DUR", defaultValue = "8d", converter = Limit.class,
            description = "Report WARNING when no drill has passed for longer than this (default: ${DEFAULT-VALUE}); 0 turns the check off.")
    Duration maxDrillAge;

    @Option(names = "--max-archive-lag", paramLabel = "DUR", defaultValue = "1h", converter = Limit.class,
            description = "Report WARNING when the newest archived WAL is older than this (default: ${DEFAULT-VALUE}); 0 turns the check off.")
    Duration maxArchiveLag;

    @Option(names = "--prometheus", paramLabel = "FILE", description = "Also write the result to FILE in the Prometheus text format for "
            + "node_exporter's textfile collector (name it *.prom). It is replaced atomically, so that a reader never sees half of it.")
    Path prometheus;

    @Option(names = "--json", description = "Print the result as JSON for scripts, instead of the text lines.")
    boolean json;

    @Override
    int execute() {
        String location = null;
        Health.Result result;
        if (spec.root().userObject() instanceof RootCommand r && r.configProblem != null) {
            return unknown(label(null), r.configProblem.oneLine(), null);
        }
        try {
            location = repo.location();
            result = facade().status(location, new Health.Limits(maxBackupAge, maxDrillAge, maxArchiveLag));
        } catch (RuntimeException e) {
            return unknown(label(location), problem(e), null);
        }
        String label = label(location);
        if (prometheus != null) {
            try {
                writeAtomically(prometheus, metrics(result, label));
            } catch (PgstrataException e) {
                return unknown(label, e.oneLine() + " (the repository's own status is " + result.status() + ")", result);
            }
        }
        if (json) {
            Output.json(out(), json(result, result.status(), null));
        } else {
            out().println(oneLine("PGSTRATA " + result.status() + " - " + summary(result)));
            printChecks(result);
        }
        return result.status().exitCode();
    }

    /** Reports that the status could not be found: one line (or JSON), the metrics file with pgstrata_status 3 alone, exit 3. */
    private int unknown(String label, String message, Health.Result partial) {
        if (prometheus != null && partial == null) {
            try {
                writeAtomically(prometheus, metric("pgstrata_status", "Overall status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
                        List.of(sample("pgstrata_status", label, null, Health.Status.UNKNOWN.exitCode()))));
            } catch (PgstrataException e) {
                message = message + "; also " + e.oneLine();
            }
        }
        if (json) {
            Map<String, Object> m = json(partial, Health.Status.UNKNOWN, label);
            m.put("message", message);
            Output.json(out(), m);
        } else {
            out().println(oneLine("PGSTRATA UNKNOWN - " + message));
            if (partial != null) {
                printChecks(partial);
            }
            out().flush();
        }
        return Health.Status.UNKNOWN.exitCode();
    }

    private void printChecks(Health.Result r) {
        for (Health.Check c : r.checks()) {
            out().println(oneLine(c.severity().word() + ": " + c.name() + ": " + c.message()));
        }
        out().flush();
    }

    /**
     * One line of plugin output: no line break, and no '|', which Nagios and its kin read as the
     * start of performance data (a repository path, or a drill's finding, may hold one).
     */
    private static String oneLine(String s) {
        return s.replace('\r', ' ').replace('\n', ' ').replace('|', '\u00a6');
    }

    /** What a failure to read the repository says: the error's own line, or that of what it was caused by. */
    private String problem(RuntimeException e) {
        PgstrataException p = PermissionDenied.find(e);
        if (p == null) {
            p = PgstrataException.outOfMemory(e);
        }
        if (p == null && e instanceof PgstrataException x) {
            p = x;
        }
        if (p != null) {
            return p.oneLine();
        }
        if (System.getenv("PGSTRATA_DEBUG") != null) {
            e.printStackTrace(spec.commandLine().getErr());
        }
        return "internal error: " + e + " (please report it; set PGSTRATA_DEBUG=1 for a stack trace)";
    }

    /** The repository as the repo label names it; empty when none was given. */
    private String label(String location) {
        if (location != null) {
            return S3Location.describe(location);
        }
        String r = repo.repo != null ? repo.repo : System.getenv("PGSTRATA_REPO");
        return r == null ? "" : r;
    }

    /** The first line's words after the status: the worst problems, or the gist when all is well. */
    static String summary(Health.Result r) {
        List<Health.Check> worst = r.worst();
        if (!worst.isEmpty()) {
            StringBuilder sb = new StringBuilder(r.repository()).append(": ");
            sb.append(String.join("; ", worst.stream().map(Health.Check::message).toList()));
            long warnings = r.checks().stream().filter(c -> c.severity() == Health.Severity.WARNING).count();
            if (r.status() == Health.Status.CRITICAL && warnings > 0) {
                sb.append(" (and ").append(warnings).append(" warning(s))");
            }
            return sb.toString();
        }
        StringBuilder sb = new StringBuilder(r.repository()).append(": ").append(r.backups()).append(" backup(s), the newest ")
                .append(Health.human(r.newestBackupAgeSeconds())).append(" old; last proven restorable ")
                .append(r.lastProvenAgeSeconds() == null ? "never" : Health.human(r.lastProvenAgeSeconds()) + " ago");
        sb.append(r.archiveLagSeconds() == null ? "; archive not checked" : "; archive " + Health.human(r.archiveLagSeconds()) + " behind");
        return sb.toString();
    }

    /** The --json object; {@code r} may be null (UNKNOWN before anything was judged). */
    private static Map<String, Object> json(Health.Result r, Health.Status status, String repository) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("status", status.word());
        m.put("exitCode", status.exitCode());
        m.put("repository", r != null ? r.repository() : repository);
        List<Map<String, Object>> checks = new ArrayList<>();
        if (r != null) {
            for (Health.Check c : r.checks()) {
                Map<String, Object> check = new LinkedHashMap<>();
                check.put("name", c.name());
                check.put("status", c.severity().word());
                check.put("message", c.message());
                check.put("value", c.value());
                check.put("threshold", c.threshold());
                checks.add(check);
            }
        }
        m.put("checks", checks);
        m.put("newestBackup", r == null || r.newestBackup() == null ? null : r.newestBackup());
        m.put("lastDrill", r == null || r.lastDrill() == null ? null : r.lastDrill());
        m.put("lastProven", r == null || r.lastProven() == null ? null : r.lastProven());
        return m;
    }

    // ---- the Prometheus textfile

    /** The result as node_exporter's textfile collector reads it: gauges labelled with the repository. */
    static String metrics(Health.Result r, String repo) {
        StringBuilder sb = new StringBuilder();
        sb.append(metric("pgstrata_status", "Overall status: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.",
                List.of(sample("pgstrata_status", repo, null, r.status().exitCode()))));
        sb.append(metric("pgstrata_backups", "Intact backups in the repository.", List.of(sample("pgstrata_backups", repo, null, r.backups()))));
        if (r.newestBackupAgeSeconds() != null) {
            sb.append(metric("pgstrata_newest_backup_age_seconds", "Seconds since the newest intact backup stopped.",
                    List.of(sample("pgstrata_newest_backup_age_seconds", repo, null, r.newestBackupAgeSeconds()))));
        }
        if (r.lastDrill() != null) {
            sb.append(metric("pgstrata_last_drill_passed", "Whether the newest restore drill passed (1) or failed (0).",
                    List.of(sample("pgstrata_last_drill_passed", repo, null, "passed".equals(r.lastDrill().result()) ? 1 : 0))));
        }
        if (r.lastProvenAgeSeconds() != null) {
            sb.append(metric("pgstrata_last_proven_age_seconds", "Seconds since the newest restore drill that passed began.",
                    List.of(sample("pgstrata_last_proven_age_seconds", repo, null, r.lastProvenAgeSeconds()))));
        }
        sb.append(metric("pgstrata_archive_gaps", "WAL segments missing from the archive.",
                List.of(sample("pgstrata_archive_gaps", repo, null, r.archiveGaps()))));
        if (r.archiveLagSeconds() != null) {
            sb.append(metric("pgstrata_archive_lag_seconds", "Age in seconds of the newest archived point (transaction or backup stop).",
                    List.of(sample("pgstrata_archive_lag_seconds", repo, null, r.archiveLagSeconds()))));
        }
        List<String> checks = new ArrayList<>();
        for (Health.Check c : r.checks()) {
            checks.add(sample("pgstrata_status_check", repo, c.name(), c.severity().level()));
        }
        sb.append(metric("pgstrata_status_check", "Status of each check: 0 OK or skipped, 1 WARNING, 2 CRITICAL.", checks));
        return sb.toString();
    }

    private static String metric(String name, String help, List<String> samples) {
        StringBuilder sb = new StringBuilder();
        sb.append("# HELP ").append(name).append(' ').append(help).append('\n');
        sb.append("# TYPE ").append(name).append(" gauge\n");
        samples.forEach(s -> sb.append(s).append('\n'));
        return sb.toString();
    }

    private static String sample(String name, String repo, String check, long value) {
        return name + "{repo=\"" + escape(repo) + "\"" + (check == null ? "" : ",check=\"" + escape(check) + "\"") + "} " + value;
    }

    /** A label value as the text format requires: backslash, double quote and line feed escaped. */
    static String escape(String value) {
        return value.replace("\\", "\\\\").replace("\"", "\\\"").replace("\n", "\\n");
    }

    /**
     * Writes {@code text} to {@code file} so that a reader sees the old content or the new, never
     * a part: a temporary file beside it (a name the collector ignores: it reads *.prom), flushed
     * to disk, then renamed over it, and the directory flushed so that the rename survives a crash.
     */
    static void writeAtomically(Path file, String text) {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        if (dir == null) { // the root directory: no file to write
            throw new PgstrataException(ErrorCode.IO, "cannot write the Prometheus textfile " + target + ": it is a directory",
                    "give --prometheus a file in an existing directory that this user can write");
        }
        Path temp = dir.resolve("." + target.getFileName() + "." + Long.toHexString(java.util.concurrent.ThreadLocalRandom.current().nextLong())
                + ".tmp");
        try {
            try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
                ByteBuffer b = StandardCharsets.UTF_8.encode(text);
                while (b.hasRemaining()) {
                    ch.write(b);
                }
                ch.force(true);
            }
            Files.move(temp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            try {
                Files.deleteIfExists(temp);
            } catch (IOException ignored) {
                // the write's own failure is the one to report
            }
            if (e instanceof AccessDeniedException a) {
                throw PermissionDenied.of(a);
            }
            String why = e instanceof NoSuchFileException ? "directory " + dir + " does not exist" : e.getMessage();
            throw new PgstrataException(ErrorCode.IO, "cannot write the Prometheus textfile " + target + ": " + why,
                    "give --prometheus a file in an existing directory that this user can write");
        }
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException e) {
            // Some file systems cannot flush a directory; the file is in place either way.
        }
    }

    /** DUR: a whole number with the unit s, m, h or d; a bare number is seconds; 0 is off. */
    static final class Limit implements ITypeConverter<Duration> {
        private static final Pattern DUR = Pattern.compile("(\\d{1,9})([smhd]?)");

        @Override
        public Duration convert(String value) {
            Matcher m = DUR.matcher(value.trim());
            if (!m.matches()) {
                throw new TypeConversionException("'" + value + "' is not a duration: give a whole number with the unit s, m, h or d "
                        + "(such as 90m, 26h or 8d; a bare number is seconds), or 0 to turn the check off");
            }
            long n = Long.parseLong(m.group(1));
            return switch (m.group(2)) {
                case "m" -> Duration.ofMinutes(n);
                case "h" -> Duration.ofHours(n);
                case "d" -> Duration.ofDays(n);
                default -> Duration.ofSeconds(n);
            };
        }
    }
}
