package org.pgstrata.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.pgstrata.api.CompareResult;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.StrategyRow;
import org.pgstrata.compare.Compare;
import org.pgstrata.compare.CompareReport;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "compare", description = {
    "Measure every backup strategy on a throwaway cluster and prove each restore.",
    "Creates an embedded cluster and loads N books. Then, for each strategy, it takes a first",
    "backup and runs K cycles of a change followed by that strategy's backup (for base backup +",
    "WAL: a named restore point whose WAL is archived), measuring each backup's seconds and the",
    "repository's size after it. Then it restores the latest point, the oldest one and, where WAL",
    "allows, a moment between two cycles, and proves each restore (row counts, a hash over every",
    "row, amcheck) against the content captured at that point. Prints the table and a",
    "recommendation drawn from the figures; --json prints every figure; --report DIR writes",
    "DIR/index.html with the table, three charts and the recommendation (self-contained).",
    "Everything it starts is removed at the end, also on Ctrl-C.",
    "The logical rows need pg_dump and pg_restore (PATH or the usual installation directories);",
    "without --pg-version the cluster runs the newest bundled major that the pg_dump found can",
    "dump, and without a usable pg_dump those rows say so instead of running.",
    "Exit code 21 when a restore is not proven."})
final class CompareCommand extends BaseCommand {
    @Option(names = "--rows", defaultValue = "100000", paramLabel = "N", description = "Books to load (default: ${DEFAULT-VALUE}).")
    long rows;

    @Option(names = "--batch-size", defaultValue = "10000", paramLabel = "B", description = "Rows per transaction (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--cycles", defaultValue = "5", paramLabel = "K", description = "Changes, each followed by a backup (default: ${DEFAULT-VALUE}).")
    int cycles;

    @Option(names = "--change", defaultValue = "insert=1000,update=1000,delete=500", paramLabel = "insert=I,update=U,delete=D",
            description = "Rows changed in each cycle (default: ${DEFAULT-VALUE}).")
    String change;

    @Option(names = "--strategies", paramLabel = "LIST", split = ",",
            description = "Only these (default: all): full, incr, diff, reverse, pitr, logical, logical-diff.")
    List<String> strategies;

    @Option(names = "--seed", defaultValue = "1", paramLabel = "S", description = "Seeds the load and every change (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--pg-version", paramLabel = "MAJOR", description = "Bundled PostgreSQL major: 15, 16, 17 or 18 (default: the one matching pg_dump, else 17).")
    Integer pgVersion;

    @Option(names = "--pg-bin", paramLabel = "DIR", description = "Use these PostgreSQL binaries instead of the bundled ones.")
    Path pgBin;

    @Option(names = "--work-dir", paramLabel = "DIR", description = "Where to put the clusters and repositories: a new or empty directory, emptied at the end (default: a new temporary directory).")
    Path workDir;

    @Option(names = "--keep", description = "Keep the work directory (and the repositories under --repo) afterwards; servers are stopped either way.")
    boolean keep;

    @Option(names = "--repo", paramLabel = "REPO", description = "Put the strategies' repositories here instead of the work directory: a "
            + "directory or s3://BUCKET/PREFIX, so that the figures include the storage's own cost. Each run uses a new compare-TIME "
            + "child, removed at the end unless --keep. Never taken from the configuration file, whose repo is the backup repository.")
    String repo;

    @Mixin
    S3Options s3 = new S3Options();

    @Option(names = "--report", paramLabel = "DIR", description = "Write DIR/index.html: the table, charts and recommendation, viewable offline.")
    Path report;

    @Option(names = "--json", description = "Print every figure as JSON: {\"strategies\": [{strategy, backupSeconds, repositoryBytes, restoreSeconds, "
            + "restorePoints, verified, reason, key, granularity, restoreMeasuredTo, restoreIncludes, repositoryNote (pitr), rpoSeconds, recoveryPoint, recoveryPointExplained, backupSecondsPerCycle, repositoryBytesPerCycle, "
            + "restores}], ...}; recoveryPoint is what a failure just before the next backup loses: backup interval, or unarchived WAL.")
    boolean json;

    @Override
    int execute() {
        Set<String> chosen = strategies == null ? Set.of() : new LinkedHashSet<>(strategies);
        CompareResult r = facade().compare(new Compare.Options(rows, batchSize, cycles, CompareResult.Change.parse(change), chosen, pgVersion, pgBin,
                workDir, keep, seed, s3.location(repo)));
        if (report != null) {
            Path written = facade().compareReport(r, report);
            if (!json) {
                out().println("report: " + written);
            }
        }
        if (json) {
            Output.json(out(), CompareReport.asMap(r));
        } else {
            out().printf("PostgreSQL %s, %d books loaded in %.1f s (%.0f rows/s), database %s; %d cycles of %s; seed %d%n%n", r.pgVersion(), r.rows(),
                    r.populateSeconds(), r.rows() / Math.max(r.populateSeconds(), 1e-9), Output.bytes(r.databaseBytes()), r.cycles(),
                    r.changePerCycle(), r.seed());
            List<List<String>> rowsOut = new ArrayList<>();
            for (StrategyRow s : r.strategies()) {
                String restore = s.restores().stream().map(x -> String.format("%.2f", x.seconds())).reduce((a, b) -> a + " / " + b).orElse("-");
                rowsOut.add(List.of(s.strategy(), String.format("%.2f", s.backupSeconds()), Output.bytes(s.repositoryBytes()), restore,
                        s.granularity() == null ? "-" : s.restorePoints() + ", " + s.granularity(),
                        String.format("%s (%.2f s here)", CompareReport.recoveryPoint(s), s.rpoSeconds()),
                        s.verified() ? "yes" : "no: " + s.reason()));
            }
            Output.table(out(), List.of("strategy", "backup s", "repository", "restore s: latest / oldest / between", "restore points",
                    "lost on failure", "verified"), rowsOut);
            out().println();
            out().println("backup s: the mean of the " + r.cycles() + " backups after the first (base backup + WAL: switching and archiving the WAL");
            out().println("of a restore point); repository: its size at the end; restore s: until the restored copy answers (physical: the");
            out().println("server started and recovered; logical: pg_restore into a new database), each proven against its point; lost on");
            out().println("failure: what a failure just before the next backup loses (a backup interval of commits, or the WAL not yet archived).");
            out().println("Base backup + WAL's repository also holds the WAL of initdb and the initial load, archived before its base backup:");
            out().println("its growth per cycle is what compares.");
            out().println();
            // Broken at spaces to the terminal's width (COLUMNS; 100 otherwise), never inside a word.
            int width = terminalWidth();
            for (String line : CompareReport.recommendation(r)) {
                List<String> parts = CompareReport.wrap(line, width);
                for (int i = 0; i < parts.size(); i++) {
                    out().println((i == 0 ? "" : "  ") + parts.get(i));
                }
            }
        }
        boolean allVerified = r.strategies().stream().filter(StrategyRow::ran).allMatch(StrategyRow::verified);
        return allVerified ? 0 : ErrorCode.VERIFY_FAILED.exitCode();
    }

    private static int terminalWidth() {
        try {
            int c = Integer.parseInt(System.getenv().getOrDefault("COLUMNS", "100").trim());
            return Math.max(40, Math.min(c, 200)) - 2;
        } catch (NumberFormatException e) {
            return 98;
        }
    }
}
