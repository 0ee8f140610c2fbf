package org.pgstrata.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.pgstrata.api.CompareResult;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.StrategyRow;
import org.pgstrata.compare.Compare;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "compare", description = {
    "Measure every backup strategy on a throwaway cluster and prove each restore.",
    "Creates an embedded cluster and loads the books workload. Then, for each strategy, it backs",
    "up, changes the data, restores, and proves the restore (row counts, a hash over every row,",
    "amcheck). Prints backup time, repository size, restore time until ready, restore points and",
    "whether the restore was proven. Everything it starts is removed at the end, also on Ctrl-C.",
    "The logical rows need pg_dump and pg_restore (PATH or the usual installation directories);",
    "without --pg-version the cluster runs the newest bundled major that the pg_dump found can",
    "dump, and without a usable pg_dump those rows say so instead of running.",
    "Exit code 21 when a restore is not proven."})
final class CompareCommand extends BaseCommand {
    @Option(names = "--rows", defaultValue = "100000", paramLabel = "N", description = "Books to load (default: ${DEFAULT-VALUE}).")
    long rows;

    @Option(names = "--batch-size", defaultValue = "10000", paramLabel = "B", description = "Rows per transaction (default: ${DEFAULT-VALUE}).")
    int batchSize;

    @Option(names = "--pg-version", paramLabel = "MAJOR", description = "Bundled PostgreSQL major: 15, 16, 17 or 18 (default: the one matching pg_dump, else 17).")
    Integer pgVersion;

    @Option(names = "--pg-bin", paramLabel = "DIR", description = "Use these PostgreSQL binaries instead of the bundled ones.")
    Path pgBin;

    @Option(names = "--work-dir", paramLabel = "DIR", description = "Where to put the clusters and repositories (default: a new temporary directory).")
    Path workDir;

    @Option(names = "--keep", description = "Keep the work directory afterwards (servers are stopped either way).")
    boolean keep;

    @Option(names = "--json", description = "Print {\"strategies\": [{strategy, backupSeconds, repositoryBytes, restoreSeconds, restorePoints, verified, reason}]}.")
    boolean json;

    @Override
    int execute() {
        CompareResult r = facade().compare(new Compare.Options(rows, batchSize, pgVersion, pgBin, workDir, keep));
        if (json) {
            var m = new java.util.LinkedHashMap<String, Object>();
            m.put("pgMajor", r.pgMajor());
            m.put("rows", r.rows());
            m.put("populateSeconds", r.populateSeconds());
            m.put("databaseBytes", r.databaseBytes());
            List<java.util.Map<String, Object>> rowsOut = new ArrayList<>();
            for (StrategyRow s : r.strategies()) {
                var row = new java.util.LinkedHashMap<String, Object>();
                row.put("strategy", s.strategy());
                row.put("backupSeconds", round(s.backupSeconds()));
                row.put("repositoryBytes", s.repositoryBytes());
                row.put("restoreSeconds", round(s.restoreSeconds()));
                row.put("restorePoints", s.restorePoints());
                row.put("verified", s.verified());
                if (!s.verified()) {
                    row.put("reason", s.reason());
                }
                rowsOut.add(row);
            }
            m.put("strategies", rowsOut);
            Output.json(out(), m);
        } else {
            out().printf("PostgreSQL %d, %d books loaded in %.1f s (%.0f rows/s), database %s%n%n", r.pgMajor(), r.rows(), r.populateSeconds(),
                    r.rows() / Math.max(r.populateSeconds(), 1e-9), Output.bytes(r.databaseBytes()));
            List<List<String>> rowsOut = new ArrayList<>();
            for (StrategyRow s : r.strategies()) {
                rowsOut.add(List.of(s.strategy(), String.format("%.2f", s.backupSeconds()), Output.bytes(s.repositoryBytes()),
                        String.format("%.2f", s.restoreSeconds()), Integer.toString(s.restorePoints()), s.verified() ? "yes" : "no: " + s.reason()));
            }
            Output.table(out(), List.of("strategy", "backup s", "repository", "restore s", "restore points", "verified"), rowsOut);
            out().println();
            out().println("incremental chain, differential, reverse delta: a full, then three changes each followed by a backup of that");
            out().println("type; backup s is the mean of those three, repository what it then holds, restore s the mean over the four points.");
            out().println("logical differential: the same with pg_dump's full and row-level differentials, each restored into a new database.");
        }
        boolean allVerified = r.strategies().stream().filter(StrategyRow::ran).allMatch(StrategyRow::verified);
        return allVerified ? 0 : ErrorCode.VERIFY_FAILED.exitCode();
    }

    private static double round(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}
