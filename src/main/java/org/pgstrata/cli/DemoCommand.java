package org.pgstrata.cli;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "demo", description = "The books workload: create, fill and change a books table, and prove content.",
        subcommands = {DemoCommand.Init.class, DemoCommand.Populate.class, DemoCommand.Mutate.class, DemoCommand.Checksum.class},
        mixinStandardHelpOptions = true)
final class DemoCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "init", description = "Create the books table (id identity primary key, title, author, isbn, "
            + "published_year, price numeric(10,2), created_at, updated_at) and its index on author.")
    static final class Init extends BaseCommand {
        @Mixin
        ConnectionOptions conn;

        @Override
        int execute() {
            var s = conn.resolve(System.getenv());
            facade().demoInit(s);
            out().println("created table books in " + s.describe());
            return 0;
        }
    }

    @Command(name = "populate", description = {"Insert N generated books with COPY, each batch in its own transaction, then settle them.",
        "Settling is what pgbench -i does: " + Books.SETTLE + ", so that the next reader (and the next incremental)",
        "does not find every page changed by hint bits."})
    static final class Populate extends BaseCommand {
        @Mixin
        ConnectionOptions conn;

        @Parameters(index = "0", paramLabel = "N", description = "Number of rows to insert.")
        long rows;

        @Option(names = "--batch-size", defaultValue = "10000", paramLabel = "B", description = "Rows per transaction (default: ${DEFAULT-VALUE}).")
        int batchSize;

        @Option(names = "--seed", defaultValue = "1", paramLabel = "S", description = "Seed of the generated content (default: ${DEFAULT-VALUE}).")
        long seed;

        @Option(names = "--no-vacuum", description = "Leave the table as loaded: no " + Books.SETTLE + " after the load.")
        boolean noVacuum;

        @Override
        int execute() {
            if (rows < 0 || batchSize < 1) {
                throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.USAGE,
                        "N must be 0 or more and --batch-size at least 1", null);
            }
            var r = facade().populate(conn.resolve(System.getenv()), rows, batchSize, seed, !noVacuum);
            out().printf("inserted %d rows in %.2f s (%.0f rows/s)%n", r.rows(), r.seconds(), r.rowsPerSecond());
            r.vacuumSeconds().ifPresent(s -> out().printf("settled: %s in %.2f s%n", Books.SETTLE, s));
            return 0;
        }
    }

    @Command(name = "mutate", description = {"Insert, update and delete books reproducibly: the same seed on the same content changes the same",
        "rows. Runs in one transaction and reads only the rows it changes (ids drawn at random between the key's",
        "ends, by the primary key), never the whole table."})
    static final class Mutate extends BaseCommand {
        @Mixin
        ConnectionOptions conn;

        @Option(names = "--insert", defaultValue = "0", paramLabel = "N", description = "Rows to insert.")
        int inserts;

        @Option(names = "--update", defaultValue = "0", paramLabel = "N", description = "Rows to update (price, title, updated_at).")
        int updates;

        @Option(names = "--delete", defaultValue = "0", paramLabel = "N", description = "Rows to delete.")
        int deletes;

        @Option(names = "--seed", defaultValue = "1", paramLabel = "S", description = "Seed that picks the rows (default: ${DEFAULT-VALUE}).")
        long seed;

        @Override
        int execute() {
            if (inserts < 0 || updates < 0 || deletes < 0) {
                throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.USAGE,
                        "--insert, --update and --delete must be 0 or more", null);
            }
            Books.MutateResult r = facade().mutate(conn.resolve(System.getenv()), inserts, updates, deletes, seed);
            out().println("inserted " + r.inserted() + ", updated " + r.updated() + ", deleted " + r.deleted() + " rows");
            return 0;
        }
    }

    @Command(name = "checksum", description = {"Print each user table's row count and a hash over all its rows in primary-key",
        "order, then one combined hash: the content proof a restore is checked against."})
    static final class Checksum extends BaseCommand {
        @Mixin
        ConnectionOptions conn;

        @Option(names = "--json", description = "Print {\"tables\": [{\"table\", \"rows\", \"hash\"}...], \"combined\": \"...\"}.")
        boolean json;

        @Override
        int execute() {
            ContentChecksum.Result r = facade().checksum(conn.resolve(System.getenv()));
            if (json) {
                Map<String, Object> m = new LinkedHashMap<>();
                List<Map<String, Object>> tables = new ArrayList<>();
                for (ContentChecksum.TableSum t : r.tables()) {
                    Map<String, Object> row = new LinkedHashMap<>();
                    row.put("table", t.table());
                    row.put("rows", t.rows());
                    row.put("hash", t.hash());
                    tables.add(row);
                }
                m.put("tables", tables);
                m.put("combined", r.combined());
                Output.json(out(), m);
            } else {
                List<List<String>> rows = new ArrayList<>();
                for (ContentChecksum.TableSum t : r.tables()) {
                    rows.add(List.of(t.table(), Long.toString(t.rows()), t.hash()));
                }
                Output.table(out(), List.of("table", "rows", "hash"), rows);
                out().println("combined: " + r.combined());
            }
            return 0;
        }
    }
}
