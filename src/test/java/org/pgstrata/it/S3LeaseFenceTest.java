package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.api.VerifyResult;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.manifest.Repository;
import org.pgstrata.storage.Storage;
import org.pgstrata.storage.s3.S3Location;
import org.pgstrata.storage.s3.S3Server;
import org.pgstrata.storage.s3.S3Storage;

/**
 * Invariant 7 on S3, where the lock is a lease: a writer that lost it stops before its next
 * manifest write or delete. The backups run in a child process, as a user runs them, with the
 * lease shortened to {@link #TTL} by the test hook PGSTRATA_TEST_S3_LEASE_TTL_MS. The child is
 * frozen (SIGSTOP) while it copies, holding the lock; the test then takes the lease over, or lets
 * it run out with the S3 server stopped, and thaws it.
 */
class S3LeaseFenceTest {
    static final Duration TTL = Duration.ofSeconds(4);
    static final String BUCKET = "lease";

    @TempDir
    static Path dir;
    static PgSupport pg;
    static S3Server s3;
    static LocalCluster source;
    static String location;
    static BackupResult earlier;
    static ContentChecksum.Result atEarlier;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        s3 = S3Server.onDisk(dir.resolve("s3"));
        source = pg.start("source", 17);
        try (Connection c = PgSupport.connect(source)) {
            Books.init(c);
            Books.populate(c, 30_000, 10_000, 1, Progress.NONE);
            atEarlier = ContentChecksum.compute(c);
        }
        location = s3.location(BUCKET, "clusters/fenced");
        earlier = PgSupport.facade().backup(new BackupRequest(location, source.pgdata(), PgSupport.conn(source), BackupType.FULL,
                Compression.ZSTD, 2, 0));
        try (Connection c = PgSupport.connect(source)) {
            Books.mutate(c, 1000, 1000, 500, 2); // so that the next backup has something new to write
        }
    }

    @AfterAll
    static void tearDown() throws Exception {
        pg.close();
        s3.close();
    }

    @AfterEach
    void releaseForeignLock() throws Exception {
        s3.start();
        try (Storage s = new S3Storage(S3Location.parse(location))) {
            s.delete("lock");
        }
    }

    /** A full backup in a child JVM with the shortened lease; stdout and stderr together. */
    private static Process backupInChild() throws Exception {
        List<String> cmd = org.pgstrata.ChildJava.command();
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path")));
        if (System.getProperty("pgstrata.pgbin.dir") != null) {
            cmd.add("-Dpgstrata.pgbin.dir=" + System.getProperty("pgstrata.pgbin.dir"));
        }
        cmd.addAll(List.of("org.pgstrata.cli.Main", "backup"));
        cmd.addAll(S3Location.parse(location).arguments());
        cmd.addAll(List.of("--pgdata", source.pgdata().toString(), "--port", Integer.toString(PgSupport.conn(source).port()),
                "--jobs", "1"));
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("PG") || k.startsWith("AWS_"));
        pb.environment().putAll(S3Server.environment());
        pb.environment().put("PGSTRATA_TEST_S3_LEASE_TTL_MS", Long.toString(TTL.toMillis()));
        return pb.start();
    }

    /** The backup directories in the repository, complete or not. */
    private static java.util.Set<String> backupDirectories() throws Exception {
        try (Storage s = new S3Storage(S3Location.parse(location))) {
            return s.list("backup/").stream().map(k -> k.split("/")[1]).collect(java.util.stream.Collectors.toSet());
        }
    }

    /** Waits until the child holds the lock and has stored objects of a new backup, then freezes it. */
    private static void freezeWhileCopying(Process child, java.util.Set<String> before) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        try (Storage s = new S3Storage(S3Location.parse(location))) {
            while (s.list("backup/").stream().map(k -> k.split("/")[1]).allMatch(before::contains)) {
                assertThat(child.isAlive()).as("the child backup ended before it started copying").isTrue();
                assertThat(System.nanoTime()).as("the child backup never started copying").isLessThan(deadline);
                Thread.sleep(10);
            }
        }
        signal(child, "STOP");
    }

    private static void signal(Process p, String signal) throws Exception {
        // No shell: the pid goes to kill(1) as one argument.
        Process kill = new ProcessBuilder("kill", "-" + signal, Long.toString(p.pid())).inheritIO().start();
        assertThat(kill.waitFor()).isZero();
    }

    private static String finish(Process child) throws Exception {
        String out = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(child.waitFor(300, TimeUnit.SECONDS)).isTrue();
        return out;
    }

    /** Nothing of the fenced backup became a backup: the earlier one alone is listed, and verify finds nothing wrong. */
    private static void repositoryIsAsItWas() {
        assertThat(PgSupport.facade().list(location)).extracting(b -> b.id()).containsExactly(earlier.id());
        VerifyResult v = PgSupport.facade().verify(location, null);
        assertThat(v.problems()).isEmpty();
    }

    @Test
    void aBackupWhoseLeaseIsTakenOver_exits14_beforeWritingItsManifest() throws Exception {
        java.util.Set<String> before = backupDirectories();
        Process child = backupInChild();
        try {
            freezeWhileCopying(child, before);
            // Another holder writes the lock object (as a host that judged it stale would), while the child cannot renew.
            try (Storage s = new S3Storage(S3Location.parse(location))) {
                s.putBytes("lock", "holder=pgstrata backup (pid 99 on db9.example)\nhost=db9.example\npid=99\ntoken=theirs\n"
                        .getBytes(StandardCharsets.UTF_8));
            }
            Thread.sleep(TTL.toMillis() / 4 + 300); // past the child's next renewal, well inside its lease
        } finally {
            signal(child, "CONT");
        }
        String out = finish(child);
        assertThat(child.exitValue()).as(out).isEqualTo(ErrorCode.LOCKED.exitCode());
        List<String> errors = out.lines().filter(l -> l.startsWith("pgstrata: error:")).toList();
        assertThat(errors).as(out).hasSize(1);
        assertThat(errors.get(0)).contains("lost the lock").contains("taken over by pgstrata backup (pid 99 on db9.example)")
                .contains("nothing more was written").contains("hint: ");
        try (Storage s = new S3Storage(S3Location.parse(location))) {
            assertThat(new String(s.getBytes("lock"), StandardCharsets.UTF_8)).as("the new holder's lock is left alone").contains("token=theirs");
        }
        repositoryIsAsItWas();
    }

    @Test
    void aBackupThatCannotRenewItsLeaseInTime_exits14_beforeWritingItsManifest_andTheEarlierBackupRestores() throws Exception {
        java.util.Set<String> before = backupDirectories();
        Process child = backupInChild();
        try {
            freezeWhileCopying(child, before);
            // The store goes away for longer than the lease: no renewal can reach it, and another host may take over.
            s3.stop();
            Thread.sleep(TTL.toMillis() + 1000);
            s3.start();
        } finally {
            signal(child, "CONT");
        }
        String out = finish(child);
        assertThat(child.exitValue()).as(out).isEqualTo(ErrorCode.LOCKED.exitCode());
        List<String> errors = out.lines().filter(l -> l.startsWith("pgstrata: error:")).toList();
        assertThat(errors).as(out).hasSize(1);
        assertThat(errors.get(0)).contains("lost the lock").contains("not renewed").contains("nothing more was written").contains("hint: ");
        repositoryIsAsItWas();

        // The earlier backup restores, through the command line, to its content.
        int port = LocalCluster.freePort();
        Object[] r = S3RepositoryTest.cli(S3RepositoryTest.args(location, "restore", "--to", dir.resolve("restored").toString(),
                "--backup", earlier.id(), "--start", "--port", String.valueOf(port)));
        LocalCluster restored = pg.trackRestored(dir.resolve("restored"), 17);
        assertThat((int) r[0]).as(String.valueOf(r[1])).isZero();
        try (Connection c = Db.connect(PgSupport.conn(restored))) {
            assertThat(ContentChecksum.compute(c)).isEqualTo(atEarlier);
        }
        restored.stop();
    }

    @Test
    void aRemovalWhoseLeaseWasTakenOver_deletesNothing() throws Exception {
        try (Repository repo = Repository.on(new S3Storage(S3Location.parse(location), TTL));
             Storage.RepositoryLock lock = repo.lock("delete", java.time.Clock.systemUTC())) {
            repo.storage().putBytes("lock", "holder=pgstrata expire (pid 98 on db8.example)\nhost=db8.example\npid=98\ntoken=theirs\n"
                    .getBytes(StandardCharsets.UTF_8));
            Thread.sleep(TTL.toMillis() / 4 + 500); // past the next renewal, which finds the lease taken
            assertThatThrownBy(() -> repo.removeBackup(earlier.id())).isInstanceOf(PgstrataException.class)
                    .satisfies(e -> assertThat(((PgstrataException) e).code()).isEqualTo(ErrorCode.LOCKED))
                    .hasMessageContaining("taken over by pgstrata expire (pid 98 on db8.example)");
        }
        repositoryIsAsItWas();
    }
}
