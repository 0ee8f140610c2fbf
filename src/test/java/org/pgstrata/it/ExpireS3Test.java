package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.Progress;
import org.pgstrata.api.RestoreRequest;
import org.pgstrata.api.RestoreResult;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.manifest.Repository;
import org.pgstrata.storage.s3.S3Server;

/** Retention on an S3 repository (s3proxy on loopback), through the command line with the S3 options. */
class ExpireS3Test extends PgTest {

    @Test
    void retainFull1_onS3_removesTheOldChain_andTheNewestFullStillRestores() throws Exception {
        try (S3Server server = S3Server.inMemory()) {
            String location = server.location("expire", "cluster-a");
            LocalCluster src = pg.start("src", 17);
            try (Connection c = PgSupport.connect(src)) {
                Books.init(c);
                Books.populate(c, 3_000, 1_000, 1, Progress.NONE);
            }
            BackupResult f1 = backup(location, src, BackupType.FULL, 1);
            BackupResult i1 = backup(location, src, BackupType.INCR, 2);
            BackupResult f2 = backup(location, src, BackupType.FULL, 3);
            Map<String, ContentChecksum.Result> atF2 = ClusterContent.of(src);
            assertThat(i1.reference()).isEqualTo(f1.id());

            List<String> args = new ArrayList<>(List.of("expire", "--retain-full", "1", "-q"));
            args.addAll(server.arguments("expire", "cluster-a"));
            CliRun r = CliRun.run(args.toArray(String[]::new));
            assertThat(r.exitCode()).as(r.err()).isZero();
            List<String> lines = r.out().lines().toList();
            assertThat(lines).hasSize(3);
            assertThat(lines.get(0)).startsWith("removed " + i1.id() + " (incr, ").endsWith("): older than the newest full");
            assertThat(lines.get(1)).startsWith("removed " + f1.id() + " (full, ");
            // No WAL archive: each backup holds its own WAL, and there is no archive to expire.
            assertThat(lines.get(2)).startsWith("removed 2 backup(s) (").endsWith("; kept 1 backup(s) in s3://expire/cluster-a");

            assertThat(PgSupport.facade().list(location)).extracting(BackupInfo::id).containsExactly(f2.id());
            try (Repository repo = Repository.open(location)) {
                assertThat(repo.storage().list(Repository.BACKUP_PREFIX)).isNotEmpty()
                        .allMatch(k -> k.startsWith(Repository.BACKUP_PREFIX + f2.id() + "/"));
            }
            VerifyResult v = PgSupport.facade().verify(location, null);
            assertThat(v.problems()).isEmpty();
            assertThat(v.incomplete()).isEmpty();

            RestoreResult restored = PgSupport.facade().restore(new RestoreRequest(location, dir.resolve("restored"), f2.id(), true,
                    LocalCluster.freePort(), null, 2));
            LocalCluster copy = pg.trackRestored(restored.target(), 17);
            assertThat(ClusterContent.of(copy)).isEqualTo(atF2);
            assertThat(ClusterContent.amcheck(copy)).isEmpty();
        }
    }

    private static BackupResult backup(String location, LocalCluster src, BackupType type, long seed) throws Exception {
        try (Connection c = PgSupport.connect(src)) {
            Books.mutate(c, 100, 100, 50, seed);
        }
        return PgSupport.facade().backup(new BackupRequest(location, src.pgdata(), PgSupport.conn(src), type, Compression.ZSTD, 2, 0));
    }
}
