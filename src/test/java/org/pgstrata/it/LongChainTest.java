package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.Progress;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.storage.s3.S3Server;

/**
 * A chain as a month of daily incrementals makes it: each file of a busy table is rebuilt from
 * dozens of layers at once. On S3 each layer held one of the client's 64 connections, and two
 * rebuilds waited for each other's until the restore failed ("ConnectionRequestTimeoutException",
 * as if the endpoint were down); on any store each layer of a big table's file held up to three
 * 4 MiB frames, and forty of them did not fit in a 160 MB heap.
 */
class LongChainTest extends PgTest {
    private static final int MAJOR = 17;
    /** Backups in the chain: full + 39 incrementals; two files rebuilt side by side need 80 reads. */
    private static final int BACKUPS = 40;

    @Test
    void fortyBackupsDeep_restoreOnS3WithTwoJobs_andInAHeapOf128MB_provenBoth() throws Exception {
        try (S3Server server = S3Server.onDisk(dir.resolve("s3"))) {
            String s3 = server.location("chain", "deep");
            Path local = dir.resolve("repo");
            LocalCluster src = pg.start("src", MAJOR);
            try (Connection c = PgSupport.connect(src)) {
                Books.init(c);
                // 500,000 books: a table file over 64 MiB, whose changed pages are stored in frames.
                Books.populate(c, 500_000, 50_000, 1, Progress.NONE);
            }
            List<String> ids = new ArrayList<>();
            List<String> localIds = new ArrayList<>();
            for (int i = 0; i < BACKUPS; i++) {
                BackupType type = i == 0 ? BackupType.FULL : BackupType.INCR;
                if (i > 0) {
                    try (Connection c = PgSupport.connect(src)) {
                        Books.mutate(c, 200, 200, 20, 100 + i);
                    }
                }
                BackupResult onS3 = backup(s3, src, type);
                localIds.add(backup(local.toString(), src, type).id());
                ids.add(onS3.id());
            }
            Map<String, ContentChecksum.Result> atNewest = ClusterContent.of(src);
            String newest = ids.get(ids.size() - 1);
            assertThat(PgSupport.facade().list(s3).get(BACKUPS - 1).chain()).hasSize(BACKUPS);

            // S3, two jobs: the heap and its index are rebuilt at once, each from 40 layers.
            var restored = PgSupport.facade().restore(new RestoreRequest(s3, dir.resolve("from-s3"), newest, true,
                    LocalCluster.freePort(), null, 2));
            LocalCluster fromS3 = pg.trackRestored(restored.target(), MAJOR);
            assertThat(ClusterContent.of(fromS3)).isEqualTo(atNewest);
            assertThat(ClusterContent.amcheck(fromS3)).isEmpty();
            VerifyResult v = PgSupport.facade().verify(s3, null);
            assertThat(v.problems()).isEmpty();
            assertThat(v.incomplete()).isEmpty();

            // A directory, in a JVM of 128 MB of heap.
            Path target = dir.resolve("from-dir");
            ChildCli.Finished small = ChildCli.run(Map.of(), List.of("-Xmx128m", "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"), 300,
                    "restore", "-q", "--repo", local.toString(), "--backup", localIds.get(BACKUPS - 1), "--to", target.toString(), "--jobs", "2");
            assertThat(small.exitCode()).as(small.output()).isZero();
            LocalCluster fromDir = pg.trackRestored(target, MAJOR);
            fromDir.start(LocalCluster.freePort());
            PgSupport.awaitReadWrite(fromDir, 120); // amcheck installs its extension
            assertThat(ClusterContent.of(fromDir)).isEqualTo(atNewest);
            assertThat(ClusterContent.amcheck(fromDir)).isEmpty();
            // The proof sees a change: the source moves on, the copies do not.
            try (Connection c = PgSupport.connect(src)) {
                Books.mutate(c, 0, 1, 0, 999);
            }
            assertThat(ClusterContent.of(src)).isNotEqualTo(ClusterContent.of(fromDir));
        }
    }

    /** Random bytes, {@code 16 * n} of them, new for each row of {@code g}. */
    private static String noise(int n) {
        return "(SELECT decode(string_agg(md5(random()::text || x::text || g::text), ''), 'hex') FROM generate_series(1, " + n + ") x)";
    }

    @Test
    void moreLargeLayersThanTheStoreReadsAtOnce_theSmallestAreReadWhole_andTheCopyIsProven() throws Exception {
        try (S3Server server = S3Server.onDisk(dir.resolve("s3"))) {
            String s3 = server.location("chain", "large");
            LocalCluster src = pg.start("src", MAJOR);
            PgSupport.sql(src, "CREATE TABLE noise (id int PRIMARY KEY, b bytea)",
                    "INSERT INTO noise SELECT g, " + noise(112) + " FROM generate_series(1, 1500) g");
            String newest = backup(s3, src, BackupType.FULL).id();
            for (int i = 0; i < 6; i++) {
                // Every row anew: about 3 MB of incompressible pages a backup, more than a page set that is read whole.
                PgSupport.sql(src, "UPDATE noise SET b = " + noise(112).replace("g::text", "id::text") + " WHERE id > " + i);
                BackupResult incr = backup(s3, src, BackupType.INCR);
                assertThat(incr.repositoryBytes()).isGreaterThan(2L << 20);
                newest = incr.id();
            }
            Map<String, ContentChecksum.Result> atNewest = ClusterContent.of(src);

            // A pool of 6 connections, 3 of them for layers: the noise table's file has 7 large ones.
            Map<String, String> env = new java.util.HashMap<>(S3Server.environment());
            env.put("PGSTRATA_TEST_S3_CONNECTIONS", "6");
            List<String> args = new ArrayList<>(List.of("restore", "-q", "--backup", newest, "--to", dir.resolve("copy").toString(),
                    "--jobs", "2"));
            args.addAll(server.arguments("chain", "large"));
            ChildCli.Finished restore = ChildCli.run(env, List.of(), 300, args.toArray(String[]::new));
            assertThat(restore.exitCode()).as(restore.output()).isZero();
            LocalCluster copy = pg.trackRestored(dir.resolve("copy"), MAJOR);
            copy.start(LocalCluster.freePort());
            PgSupport.awaitReadWrite(copy, 120); // amcheck installs its extension
            assertThat(ClusterContent.of(copy)).isEqualTo(atNewest);
            assertThat(ClusterContent.amcheck(copy)).isEmpty();

            List<String> verify = new ArrayList<>(List.of("verify", "-q", "--jobs", "2"));
            verify.addAll(server.arguments("chain", "large"));
            ChildCli.Finished verified = ChildCli.run(env, List.of(), 300, verify.toArray(String[]::new));
            assertThat(verified.exitCode()).as(verified.output()).isZero();
        }
    }

    private static BackupResult backup(String repo, LocalCluster src, BackupType type) {
        return PgSupport.facade().backup(new BackupRequest(repo, src.pgdata(), PgSupport.conn(src), type, Compression.ZSTD, 2, 0));
    }
}
