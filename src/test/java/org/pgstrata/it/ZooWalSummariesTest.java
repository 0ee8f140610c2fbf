package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pgstrata.db.LocalCluster;

/**
 * The {@link Zoo} on PostgreSQL 17, whose incrementals and differentials read the WAL summaries
 * instead of scanning (ZooStrategiesTest runs it on 15, the major of the machine's pg_dump, where
 * every incremental scans). A chain (full, incr, diff, incr, incr, incr, then a reverse backup
 * that turns the chain's full into a reverse delta under it) and a reverse backup at every point
 * in a second repository: every point verifies and restores, proven against the state taken on
 * the source right after its backup (every database's content, index probes, materialized views,
 * sequences, unlogged tables) and by amcheck; pg_dump is left out (the machine's is older than
 * the server). At least two of its five incrementals must have read the summaries, or this tests the scan again.
 */
class ZooWalSummariesTest extends PgTest {
    private static final int MAJOR = 17;

    record Point(Path repo, String id, String label, Zoo.State state) {
    }

    @Test
    void everyPointOfAChainAndOfReverseDeltas_readFromTheSummaries_restoresTheZoo() throws Exception {
        LocalCluster c = pg.start("zoo", MAJOR);
        Zoo zoo = Zoo.build(c, Files.createDirectories(dir.resolve("tablespace dir ü")));
        Path chain = dir.resolve("chain");
        Path reverse = dir.resolve("reverse");
        List<Point> points = new ArrayList<>();
        Zoo.State s = state(zoo, c);
        points.add(new Point(chain, CliBackups.backupId(chain, c, "full"), "full", s));
        points.add(new Point(reverse, CliBackups.backupId(reverse, c, "reverse"), "reverse 0", s));
        String[] types = {"incr", "diff", "incr", "incr", "incr"};
        List<String> sources = new ArrayList<>();
        for (int step = 1; step <= types.length; step++) {
            zoo.change(step);
            s = state(zoo, c);
            JsonNode b = CliBackups.backup(chain, c, types[step - 1]);
            sources.add(b.path("changeSource").asText());
            points.add(new Point(chain, b.get("id").asText(), types[step - 1] + " after step " + step, s));
            points.add(new Point(reverse, CliBackups.backupId(reverse, c, "reverse"), "reverse " + step, s));
        }
        // SP-GiST rewrites its metapage without WAL, so a random sample may send some to the scan (docs/physical.md): one in five did once
        assertThat(sources.stream().filter("wal-summary"::equals).count()).as("change sources %s", sources).isGreaterThanOrEqualTo(2);
        zoo.change(types.length + 1);
        s = state(zoo, c);
        points.add(new Point(chain, CliBackups.backupId(chain, c, "reverse"), "reverse over the chain", s));
        for (Path repo : List.of(chain, reverse)) {
            JsonNode v = CliBackups.run("verify", "-q", "--json", "--repo", repo.toString());
            assertThat(v.path("problems")).as("verify of %s: %s", repo, v).isEmpty();
        }
        List<String> failures = new ArrayList<>();
        int n = 0;
        for (Point p : points) {
            Path target = dir.resolve("restored-" + n++);
            LocalCluster restored = CliBackups.restore(pg, p.repo(), target, MAJOR, "--backup", p.id()).cluster();
            try {
                List<String> d = Zoo.physicalDifferences(p.state(), state(zoo, restored), false);
                if (!d.isEmpty()) {
                    failures.add(p.label() + " " + p.id() + ": " + d);
                }
                List<String> am = ClusterContent.amcheck(restored);
                if (!am.isEmpty()) {
                    failures.add(p.label() + " " + p.id() + ": amcheck " + am);
                }
            } finally {
                restored.stopImmediately();
                PgSupport.deleteTree(target);
            }
        }
        assertThat(failures).isEmpty();
    }

    /** The zoo's state without pg_dump. */
    private static Zoo.State state(Zoo zoo, LocalCluster c) throws Exception {
        List<String> dbs = ClusterContent.databases(c, false);
        return new Zoo.State(ClusterContent.of(c), zoo.probes(c, Zoo.MAIN), Zoo.matviews(c, dbs), Zoo.unlogged(c, dbs), Zoo.sequences(c, dbs), "");
    }
}
