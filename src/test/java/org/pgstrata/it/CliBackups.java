package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * Backups and restores through the command line, as a user runs them ({@link CliRun}, in this
 * JVM), each asserted to succeed and read back from its --json result.
 */
final class CliBackups {
    private static final ObjectMapper JSON = new ObjectMapper();

    private CliBackups() {
    }

    /** Runs {@code pgstrata args...}; fails with its error output unless it exits 0. */
    static CliRun ok(String... args) {
        CliRun r = CliRun.run(args);
        assertThat(r.exitCode()).as("exit code of pgstrata %s; it said: %s", String.join(" ", args), r.err().strip()).isZero();
        return r;
    }

    /** Runs {@code pgstrata args...} (with --json among them); fails unless it exits 0; its JSON result. */
    static JsonNode run(String... args) {
        CliRun r = ok(args);
        try {
            return JSON.readTree(r.out());
        } catch (IOException e) {
            throw new AssertionError("pgstrata " + String.join(" ", args) + " printed no JSON: " + r.out(), e);
        }
    }

    /** A physical backup of {@code c} of {@code type} (full, incr, diff, reverse). */
    static JsonNode backup(Path repo, LocalCluster c, String type) {
        return run("backup", "-q", "--json", "--repo", repo.toString(), "--pgdata", c.pgdata().toString(), "--port", port(c), "--type", type);
    }

    /** The id of a new physical backup of {@code c} of {@code type}. */
    static String backupId(Path repo, LocalCluster c, String type) {
        return backup(repo, c, type).get("id").asText();
    }

    /** A logical backup of database {@code db} of {@code type} (full, diff). */
    static JsonNode logicalBackup(Path repo, LocalCluster c, String db, String type) {
        return run("backup", "-q", "--json", "--logical", "--repo", repo.toString(), "--port", port(c), "--dbname", db, "--type", type);
    }

    /** A restored copy, running, and what the restore command said (backupId, stoppedAtLsn, reason ...). */
    record Restored(LocalCluster cluster, JsonNode result) {
    }

    /**
     * Restores into {@code target} and starts the copy on a free port; {@code which} chooses the
     * backup and the target, as on the command line ("--backup", ID / "--steps-back", "2" /
     * "--target-name", NAME ...). The copy is stopped when {@code pg} closes.
     */
    static Restored restore(PgSupport pg, Path repo, Path target, int major, String... which) {
        List<String> args = new ArrayList<>(List.of("restore", "-q", "--json", "--to", target.toString(), "--start",
                "--port", Integer.toString(LocalCluster.freePort())));
        if (repo != null) { // null: the repository comes from elsewhere among {@code which} (--stanza)
            args.addAll(List.of("--repo", repo.toString()));
        }
        args.addAll(List.of(which));
        JsonNode result;
        try {
            result = run(args.toArray(String[]::new));
        } catch (AssertionError | RuntimeException e) {
            if (Files.isRegularFile(target.resolve("PG_VERSION"))) {
                pg.trackRestored(target, major); // a server the failed restore may have left running is stopped at the end
            }
            throw e;
        }
        return new Restored(pg.trackRestored(target, major), result);
    }

    /** Restores logical backup {@code id} into a new database {@code toDb} of the running server {@code c}. */
    static JsonNode logicalRestore(Path repo, LocalCluster c, String id, String toDb) {
        return run("restore", "-q", "--json", "--logical", "--repo", repo.toString(), "--backup", id, "--port", port(c), "--to-db", toDb);
    }

    static String port(LocalCluster c) {
        return Integer.toString(PgSupport.conn(c).port());
    }

    /** A cluster whose first reverse backup is {@code first}, with its content then, and a third of its rows changed since. */
    record ReverseSeries(LocalCluster source, String first, java.util.Map<String, org.pgstrata.demo.ContentChecksum.Result> atFirst) {
    }

    /**
     * A PostgreSQL 17 cluster named {@code name} with a table t of 20,000 rows, backed up into
     * {@code repo} by a reverse backup, then a third of its rows changed: the next reverse backup
     * turns the first into a reverse delta.
     */
    static ReverseSeries reverseSeries(PgSupport pg, String name, Path repo) throws Exception {
        LocalCluster source = pg.start(name, 17);
        PgSupport.sql(source, "CREATE TABLE t (id int PRIMARY KEY, v text)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 20000) g", "CHECKPOINT");
        String first = backupId(repo, source, "reverse");
        var atFirst = ClusterContent.of(source);
        PgSupport.sql(source, "UPDATE t SET v = 'x' || v WHERE id % 3 = 0", "CHECKPOINT");
        return new ReverseSeries(source, first, atFirst);
    }
}
