package org.pgstrata.cli;

import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.pgstrata.api.Advice;
import org.pgstrata.api.AdviseRequest;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "advise", description = {
    "Measure a running cluster against its repository and predict, per strategy, what it would cost here.",
    "It measures what changed since the newest backup by a dry run of the next incremental: the",
    "data directory is read by the page rule that incr uses and what it would store is compressed as",
    "it would be, but nothing is written (no repository lock, no backup started on the server). It",
    "runs CHECKPOINT first, so that pages changed only in shared buffers are counted (--no-checkpoint",
    "skips it). It measures WAL bytes per hour from the repository (the backups' start and stop, and",
    "the archive's end when there is one), and this machine's restore rate by reading, decompressing",
    "and checksumming a sample of the newest full's files and writing them into a scratch directory",
    "with fsync. Then it prints, for a full daily, an incremental chain, differentials, reverse",
    "deltas and a base backup + WAL, the repository bytes per day and per week and the restore time",
    "of the latest and of a week-old point, and the assumptions behind them.",
    "Needs data checksums (as incr does), and a full backup in the repository. Without --host/PGHOST",
    "and --port/PGPORT it connects to the server running on the data directory (-D/--pgdata, else",
    "PGDATA) as its postmaster.pid says: its Unix socket and port.",
    "--json prints {repository, pgdata, systemIdentifier, pgMajor, change, wal, restoreRate, dataBytes,",
    "fullRatio, fullFrom, backupWalBytes, blockMapBytes, predictedFullBytes, strategies, assumptions}; change",
    "holds predictedIncrementalBytes, the next incremental's repositoryBytes; a prediction that needs",
    "something unmeasured is null."})
final class AdviseCommand extends BaseCommand {
    private static final int WIDTH = 100;

    @Mixin
    RepoOptions repo;

    @Option(names = {"-D", "--pgdata"}, paramLabel = "DIR", description = "Data directory of the running cluster (default: PGDATA).")
    Path pgdata;

    @Option(names = "--no-checkpoint", description = "Do not run CHECKPOINT first (the change may then be under-counted).")
    boolean noCheckpoint;

    @Option(names = "--jobs", defaultValue = "2", paramLabel = "N", converter = Jobs.class, description = "Files read and compressed in parallel (1 to 256; default: ${DEFAULT-VALUE}).")
    int jobs;

    @Option(names = "--scratch-dir", paramLabel = "DIR",
            description = "Where the restore rate's test writes go, and are removed again (default: the system's temporary directory; "
                    + "pick one on the disk you would restore to). It needs room for the largest file of the cluster.")
    Path scratchDir;

    @Option(names = "--sample-seconds", defaultValue = "3", paramLabel = "S",
            description = "How long to measure the restore rate for, at most (default: ${DEFAULT-VALUE}).")
    double sampleSeconds;

    @Option(names = "--json", description = "Print JSON for scripts.")
    boolean json;

    @Mixin
    ConnectionOptions conn;

    @Override
    int execute() {
        var env = System.getenv();
        Path pgdata = DataDirectory.required(this.pgdata, env);
        Advice a = facade().advise(new AdviseRequest(repo.location(), pgdata, conn.resolve(env, pgdata), !noCheckpoint, jobs, scratchDir,
                sampleSeconds));
        if (json) {
            Output.json(out(), a);
            return 0;
        }
        var out = out();
        Advice.Change c = a.change();
        out.printf("advise for %s (system %s, PostgreSQL %d) and repository %s%n%n", a.pgdata(), a.systemIdentifier(), a.pgMajor(),
                a.repository());
        out.println("measured");
        wrap(out, "  ", "    ", String.format("change since backup %s (%s, started %s, %s ago)%s: %d of %d files changed (%d new),"
                + " %d pages as page deltas; %s to store, %s as %s objects", c.sinceBackup(), c.sinceType(), c.sinceStartTime(),
                hours(c.hoursSince()), c.checkpointed() ? ", after a CHECKPOINT" : ", without a CHECKPOINT", c.changedFiles(), c.files(),
                c.newFiles(), c.pagesAsDeltas(), Output.bytes(c.contentBytes()), Output.bytes(c.objectBytes()), c.compression()));
        wrap(out, "  ", "    ", String.format("next incremental: %s in the repository (%s of objects + %s of its own WAL + %s of block map)",
                Output.bytes(c.predictedIncrementalBytes()), Output.bytes(c.objectBytes()), Output.bytes(a.backupWalBytes()),
                Output.bytes(a.blockMapBytes())));
        wrap(out, "  ", "    ", String.format("a full today: %s (%s of data at %.1f%%, as %s; with its block map)", Output.bytes(a.predictedFullBytes()),
                Output.bytes(a.dataBytes()), 100 * a.fullRatio(), a.fullFrom()));
        Advice.Wal w = a.wal();
        wrap(out, "  ", "    ", w.known()
                ? String.format("WAL: %s per hour, %s of it stored; %s", Output.bytes(Math.round(w.bytesPerHour())),
                        Output.bytes(Math.round(w.storedBytesPerHour())), w.detail())
                : "WAL: " + w.detail());
        Advice.RestoreRate r = a.restoreRate();
        wrap(out, "  ", "    ", String.format("restore rate: %.1f MB/s (read, decompress and checksum %.1f MB/s; write and fsync %.1f MB/s),"
                + " on %s (%d files) of backup %s in %.2f s, written into %s", r.mbps(), r.readMBps(), r.writeMBps(),
                Output.bytes(r.sampleBytes()), r.sampleFiles(), r.fromBackup(), r.seconds(), r.scratchDir()));
        out.println();

        List<List<String>> rows = new ArrayList<>();
        List<String> notes = new ArrayList<>();
        for (Advice.Strategy s : a.strategies()) {
            rows.add(Arrays.asList(s.strategy(), bytes(s.bytesPerDay()), bytes(s.bytesPerWeek()), seconds(s.restoreLatestSeconds()),
                    s.latestReads(), seconds(s.restoreWeekOldSeconds()), s.weekOldReads()));
            if (s.walToReplayBytes() != null) {
                notes.add(s.strategy() + ": recovery also replays up to " + Output.bytes(s.walToReplayBytes()) + " of WAL, not in the times");
            }
        }
        Output.table(out, List.of("strategy", "per day", "per week", "restore latest", "it reads", "restore week-old", "it reads"), rows);
        notes.forEach(n -> wrap(out, "", "  ", n));
        out.println();
        out.println("assumptions");
        for (String s : a.assumptions()) {
            wrap(out, "  - ", "    ", s);
        }
        out.flush();
        return 0;
    }

    /** Prints {@code text} in lines of at most {@link #WIDTH} characters (a longer word gets a line of its own). */
    private static void wrap(PrintWriter out, String first, String rest, String text) {
        StringBuilder line = new StringBuilder(first);
        boolean empty = true;
        for (String word : text.split(" ")) {
            if (!empty && line.length() + 1 + word.length() > WIDTH) {
                out.println(line);
                line = new StringBuilder(rest);
                empty = true;
            }
            if (!empty) {
                line.append(' ');
            }
            line.append(word);
            empty = false;
        }
        out.println(line);
    }

    private static String bytes(Long b) {
        return b == null ? "unknown" : Output.bytes(b);
    }

    static String seconds(Double s) {
        if (s == null) {
            return "unknown";
        }
        if (s < 10) {
            return String.format("%.2f s", s);
        }
        if (s < 600) {
            return String.format("%.1f s", s);
        }
        return s < 7200 ? String.format("%.1f min", s / 60) : String.format("%.1f h", s / 3600);
    }

    private static String hours(double h) {
        if (h >= 1) {
            return String.format("%.1f h", h);
        }
        return h * 60 >= 1 ? String.format("%.1f min", h * 60) : String.format("%.1f s", h * 3600);
    }
}
