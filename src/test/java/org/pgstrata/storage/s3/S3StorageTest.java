package org.pgstrata.storage.s3;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.pgstrata.storage.Storage;
import org.pgstrata.storage.StorageContract;

/** The storage contract on a real S3-compatible server (s3proxy, objects in memory) on 127.0.0.1. */
class S3StorageTest extends StorageContract {
    private static S3Server server;
    private static final AtomicInteger PREFIXES = new AtomicInteger();

    @BeforeAll
    static void startServer() throws Exception {
        server = S3Server.inMemory();
        server.createBucket("contract");
    }

    @AfterAll
    static void stopServer() throws Exception {
        server.close();
    }

    @Override
    protected Storage newStorage() {
        // A fresh prefix per test: an empty repository, in a bucket other tests also use.
        return new S3Storage(S3Location.parse(server.location("contract", "t" + PREFIXES.incrementAndGet() + "/repo")));
    }

    @Override
    protected long partSize() {
        return 8L << 20;
    }

    @Test
    void partsGrow_soThatOneTebibyteTakesFewerThanTenThousandParts() {
        long first = 8L << 20;
        long total = 0;
        int parts = 0;
        while (total < (1L << 40)) {
            parts++;
            total += S3Storage.partSize(first, parts);
        }
        assertThat(parts).isLessThan(S3Storage.MAX_PARTS);
        assertThat(S3Storage.partSize(first, 1)).isEqualTo(first);
        assertThat(S3Storage.partSize(first, 1001)).isEqualTo(2 * first);
        long largest = 0;
        for (int n = 1; n <= S3Storage.MAX_PARTS; n++) {
            largest += S3Storage.partSize(first, n);
        }
        assertThat(largest).as("10,000 parts hold S3's largest object, 5 TiB").isGreaterThanOrEqualTo(5L << 40);
    }

    /**
     * Writers hand their part buffers to the next ones (S3Storage keeps a few): what a buffer held
     * for one object must never reach another, whatever their sizes, one after another or at once,
     * and whether they commit, commit only if absent, or are abandoned with a part on its way.
     */
    @Test
    void partBuffersReusedByLaterWriters_neverCarryOneObjectsBytesIntoAnother() throws Exception {
        int part = (int) partSize();
        java.util.Random random = new java.util.Random(42);
        java.util.Map<String, byte[]> written = new java.util.LinkedHashMap<>();
        int[] sizes = {5 * part / 2, part / 3, 3 * part / 2 + 17, 100, part, 0, part + 1, 2 * part - 1};
        for (int i = 0; i < sizes.length; i++) {
            byte[] content = new byte[sizes[i]];
            random.nextBytes(content);
            String key = "backup/b/data/o" + i;
            Storage.ObjectWriter w = storage.create(key);
            // in pieces of varying size, as compressed frames arrive
            for (int off = 0; off < content.length; ) {
                int n = Math.min(content.length - off, 1 + random.nextInt(3 << 20));
                w.stream().write(content, off, n);
                off += n;
            }
            if (i % 2 == 0) {
                w.commit();
            } else {
                assertThat(w.commitIfAbsent()).isTrue();
            }
            w.close();
            written.put(key, content);
            // abandoned with its first part on its way: its buffers are not handed on while a request may read them
            Storage.ObjectWriter dropped = storage.create("backup/b/data/dropped" + i);
            byte[] junk = new byte[part + 5];
            java.util.Arrays.fill(junk, (byte) 0x5A);
            dropped.stream().write(junk);
            dropped.close();
        }
        // and at once, from four threads
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(4);
        try {
            java.util.List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
            for (int t = 0; t < 8; t++) {
                byte[] content = new byte[t % 2 == 0 ? part * 2 + t : part / 2 + t];
                new java.util.Random(t).nextBytes(content);
                String key = "backup/b/data/t" + t;
                written.put(key, content);
                done.add(pool.submit(() -> {
                    Storage.ObjectWriter w = storage.create(key);
                    w.stream().write(content);
                    w.commit();
                    w.close();
                    return null;
                }));
            }
            for (var f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        for (var e : written.entrySet()) {
            byte[] back = storage.getBytes(e.getKey());
            assertThat(back.length).as(e.getKey()).isEqualTo(e.getValue().length);
            assertThat(java.util.Arrays.mismatch(back, e.getValue())).as("first differing byte of " + e.getKey()).isEqualTo(-1);
        }
        assertThat(storage.list("backup/b/data/")).doesNotContainAnyElementsOf(
                java.util.stream.IntStream.range(0, sizes.length).mapToObj(i -> "backup/b/data/dropped" + i).toList());
    }

    @Test
    void aKilledMultipartUpload_isNeverListed_butNamed_andDeleteTemporaryAbortsIt() throws Exception {
        Storage.ObjectWriter w = storage.create("backup/x/data/big");
        w.stream().write(new byte[(int) partSize() + 1]); // the first part goes up
        // no commit, no close: as if the process died here
        assertThat(storage.list("")).isEmpty();
        assertThat(storage.exists("backup/x/data/big")).isFalse();
        assertThat(storage.unfinishedWrites("backup/")).containsExactly("backup/x/data/big");
        storage.deleteTemporary("backup/x/");
        assertThat(storage.unfinishedWrites("")).isEmpty();
    }

    @Test
    void getBytesIfPresent_inABucketNotYetMade_isEmpty_asExistsSays() throws Exception {
        try (Storage s = new S3Storage(S3Location.parse(server.location("not-made-yet", "repo")))) {
            assertThat(s.exists("repo.json")).isFalse();
            assertThat(s.getBytesIfPresent("repo.json")).isEmpty();
        }
    }

    @Test
    void aPartThatCannotGoUp_failsTheWriteOrTheCommit_andLeavesNoObject() throws Exception {
        byte[] part = new byte[(int) partSize()];
        new java.util.Random(7).nextBytes(part);
        Storage.ObjectWriter w = storage.create("backup/y/data/big");
        w.stream().write(part); // starts the upload; the part goes up in the background
        // The next backup aborts the upload meanwhile, as if this writer had been killed.
        storage.deleteTemporary("backup/");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> {
            w.stream().write(part);
            w.stream().write(part);
            w.commit();
        }).isInstanceOf(java.io.IOException.class).hasMessageContaining("backup/y/data/big");
        w.close();
        assertThat(storage.exists("backup/y/data/big")).isFalse();
        assertThat(storage.list("")).isEmpty();
    }

    @Test
    void aLockHeldElsewhere_isRefusedNamingItsHolder_andAStaleOneIsTakenOver() throws Exception {
        String host = java.net.InetAddress.getLocalHost().getHostName();
        // A live holder on another host, renewed just now.
        storage.putBytes("lock", ("holder=pgstrata backup (pid 77 on db2)\nhost=db2.example\npid=77\ntoken=t1\n").getBytes());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> storage.lock("pgstrata backup (pid 1)"))
                .isInstanceOf(org.pgstrata.storage.LockedException.class).hasMessageContaining("pid 77 on db2");
        // A holder on this host whose process has ended (pid 2^22 + 1 is above Linux's pid_max default).
        storage.putBytes("lock", ("holder=pgstrata backup (pid 4194305)\nhost=" + host + "\npid=4194305\ntoken=t2\n").getBytes());
        try (Storage.RepositoryLock l = storage.lock("pgstrata backup (pid 2)")) {
            assertThat(new String(storage.getBytes("lock"))).contains("pgstrata backup (pid 2)");
        }
        assertThat(storage.exists("lock")).as("released").isFalse();
        // This very process, with a token it no longer holds: a lock it could not remove (the store was down).
        storage.putBytes("lock", ("holder=pgstrata backup (earlier)\nhost=" + host + "\npid=" + ProcessHandle.current().pid()
                + "\ntoken=gone\n").getBytes());
        try (Storage.RepositoryLock l = storage.lock("pgstrata backup (pid 3)")) {
            assertThat(new String(storage.getBytes("lock"))).contains("pid 3");
        }
    }

    /**
     * A live holder on another machine of the same name (cloned VMs, "localhost"), or in a
     * container that shares this host's name but not its processes (host networking): its pid
     * is not one this process can look up. Its lock was taken over at once, as if its process
     * had ended, and the new holder removed the backup it was still writing.
     */
    @Test
    void aLockOfTheSameHostNameInAnotherPidSpace_isNotTakenOverWhileItIsRenewed() throws Exception {
        String host = java.net.InetAddress.getLocalHost().getHostName();
        storage.putBytes("lock", ("holder=pgstrata backup (pid 4194305 on " + host + ")\nhost=" + host + "\npid=4194305\n"
                + "space=another-boot/pid:[4026531836]\ntoken=t1\n").getBytes());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> storage.lock("pgstrata expire (pid 2)"))
                .isInstanceOf(org.pgstrata.storage.LockedException.class).hasMessageContaining("pid 4194305");
        // Both are pid 1 in their containers, say: the same pid is not this process either.
        long me = ProcessHandle.current().pid();
        storage.putBytes("lock", ("holder=pgstrata backup (pid " + me + " elsewhere)\nhost=" + host + "\npid=" + me + "\n"
                + "space=another-boot/pid:[4026531836]\ntoken=t2\n").getBytes());
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> storage.lock("pgstrata expire (pid 3)"))
                .isInstanceOf(org.pgstrata.storage.LockedException.class).hasMessageContaining("elsewhere");
        // In this process's own pid space, a holder that has ended is still taken over at once.
        storage.putBytes("lock", ("holder=pgstrata backup (pid 4194305)\nhost=" + host + "\npid=4194305\nspace=" + S3Storage.PROCESS_SPACE
                + "\ntoken=t3\n").getBytes());
        try (Storage.RepositoryLock l = storage.lock("pgstrata backup (pid 4)")) {
            assertThat(new String(storage.getBytes("lock"))).contains("pid 4").contains("space=" + S3Storage.PROCESS_SPACE);
        }
    }

    /**
     * A holder on this host that was killed, and whose pid another process now has (pids wrap
     * around): the lock was taken for live until its lease ran out (a minute), and the refusal
     * said to wait for a command that no longer runs. The record names when its process started;
     * a process of that pid that started at another time is not the holder.
     */
    @Test
    void aLockOfAKilledProcessWhosePidWasReused_isTakenOverAtOnce() throws Exception {
        String host = java.net.InetAddress.getLocalHost().getHostName();
        Process other = new ProcessBuilder("sleep", "60").start();
        try {
            long pid = other.pid();
            long reallyStarted = S3Storage.startTicks(Long.toString(pid));
            assertThat(reallyStarted).isPositive();
            // The killed holder started an hour before the process that has its pid now (at 100 ticks a second).
            storage.putBytes("lock", ("holder=pgstrata backup (pid " + pid + " on " + host + ")\nhost=" + host + "\npid=" + pid + "\nspace="
                    + S3Storage.PROCESS_SPACE + "\nstart-ticks=" + Math.max(0, reallyStarted - 360_000) + "\ntoken=t1\n").getBytes());
            try (Storage.RepositoryLock l = storage.lock("pgstrata backup (pid 5)")) {
                assertThat(new String(storage.getBytes("lock"))).contains("pid 5")
                        .contains("start-ticks=" + S3Storage.startTicks("self"));
            }
            // The live process that has the pid is the holder: refused.
            storage.putBytes("lock", ("holder=pgstrata backup (pid " + pid + " on " + host + ")\nhost=" + host + "\npid=" + pid + "\nspace="
                    + S3Storage.PROCESS_SPACE + "\nstart-ticks=" + reallyStarted + "\ntoken=t2\n").getBytes());
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> storage.lock("pgstrata expire (pid 6)"))
                    .isInstanceOf(org.pgstrata.storage.LockedException.class).hasMessageContaining("pid " + pid);
            storage.delete("lock");
        } finally {
            other.destroyForcibly();
        }
    }

    @Test
    void aServerThatIsAwayForAMoment_isRetriedWithBackoff_andVerboseOutputSaysSo() throws Exception {
        java.util.List<String> said = java.util.Collections.synchronizedList(new java.util.ArrayList<>());
        try (S3Server flaky = S3Server.inMemory()) {
            flaky.createBucket("flaky");
            try (Storage s = new S3Storage(S3Location.parse(flaky.location("flaky", "repo")))) {
                s.putBytes("before", new byte[] {1});
                flaky.stop();
                Thread back = new Thread(() -> {
                    try {
                        Thread.sleep(700);
                        flaky.start();
                        flaky.createBucket("flaky");
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                org.pgstrata.api.Verbose.printTo(said::add);
                org.pgstrata.api.Verbose.enable();
                back.start();
                s.putBytes("after", new byte[] {2}); // refused until the server is back, then stored
                back.join();
                assertThat(s.getBytes("after")).containsExactly(2);
            }
        } finally {
            org.pgstrata.api.Verbose.disable();
            org.pgstrata.api.Verbose.printTo(line -> { });
        }
        // A refused connection got no answer: said as a warning, verbose or not.
        assertThat(String.join("\n", said)).contains("pgstrata: warning: S3 request to s3://flaky/repo (endpoint http://")
                .contains(") failed (").contains("retrying in").contains("at most 8 attempts");
    }

    /** A storage on a fresh prefix of {@code on} whose lease lasts {@code ttl}. */
    private static S3Storage withLease(S3Server on, String bucket, java.time.Duration ttl) {
        return new S3Storage(S3Location.parse(on.location(bucket, "lease" + PREFIXES.incrementAndGet() + "/repo")), ttl);
    }

    private static final java.time.Duration SHORT = java.time.Duration.ofMillis(1200);

    @Test
    void aLeaseThatIsRenewed_staysValid_pastManyOfItsLifetimes() throws Exception {
        try (S3Storage s = withLease(server, "contract", SHORT); Storage.RepositoryLock lock = s.lock("pgstrata backup (pid 1)")) {
            String first = new String(s.getBytes("lock"));
            for (int i = 0; i < 10; i++) {
                Thread.sleep(SHORT.toMillis() / 3);
                lock.check();
            }
            assertThat(new String(s.getBytes("lock"))).as("renewed meanwhile").isNotEqualTo(first).contains("pgstrata backup (pid 1)");
        }
    }

    @Test
    void aLeaseTakenOverByAnotherWriter_failsItsCheckAtItsNextRenewal_andForEver() throws Exception {
        try (S3Storage s = withLease(server, "contract", SHORT); Storage.RepositoryLock lock = s.lock("pgstrata backup (pid 1)")) {
            lock.check();
            s.putBytes("lock", "holder=pgstrata expire (pid 9 on db9)\nhost=db9\npid=9\ntoken=t9\n".getBytes());
            Thread.sleep(SHORT.toMillis() / 4 + 400);
            for (int i = 0; i < 2; i++) {
                org.assertj.core.api.Assertions.assertThatThrownBy(lock::check).isInstanceOf(org.pgstrata.storage.LockLostException.class)
                        .hasMessageContaining("taken over by pgstrata expire (pid 9 on db9)");
            }
            lock.close();
            assertThat(new String(s.getBytes("lock"))).as("the new holder's lock is left alone").contains("token=t9");
        }
    }

    /**
     * The lock is read back on the lease's thread, after the command's work has started: a lease
     * whose read-back finds another writer's record (a store that ignores If-None-Match let it
     * overwrite) fails its check, which waits for the read-back, before any fenced write.
     */
    @Test
    void aLockOverwrittenJustAfterItWasTaken_failsItsFirstCheck_whichWaitsForTheReadBack() throws Exception {
        try (S3Server s3 = S3Server.inMemoryWithoutConditionalWrites()) {
            s3.createBucket("plain");
            try (S3Storage s = withLease(s3, "plain", java.time.Duration.ofSeconds(20))) {
                s.readBackPauseMs = 2000; // room for the other writer's PUT on a loaded machine
                try (Storage.RepositoryLock lock = s.lock("pgstrata backup (pid 1)")) {
                    long start = System.nanoTime();
                    lock.check();
                    assertThat(System.nanoTime() - start).as("check waited for the read-back").isGreaterThan(1_000_000_000L);
                }
                try (Storage.RepositoryLock lock = s.lock("pgstrata backup (pid 1)")) {
                    s.putBytes("lock", "holder=pgstrata expire (pid 9 on db9)\nhost=db9\npid=9\ntoken=t9\n".getBytes());
                    for (int i = 0; i < 2; i++) {
                        org.assertj.core.api.Assertions.assertThatThrownBy(lock::check).isInstanceOf(org.pgstrata.storage.LockLostException.class)
                                .hasMessageContaining("taken over by pgstrata expire (pid 9 on db9)");
                    }
                }
            }
        }
    }

    @Test
    void aLeaseRemovedBySomeoneElse_failsItsCheck() throws Exception {
        try (S3Storage s = withLease(server, "contract", SHORT); Storage.RepositoryLock lock = s.lock("pgstrata backup (pid 1)")) {
            s.delete("lock");
            Thread.sleep(SHORT.toMillis() / 4 + 400);
            org.assertj.core.api.Assertions.assertThatThrownBy(lock::check).isInstanceOf(org.pgstrata.storage.LockLostException.class)
                    .hasMessageContaining("removed by someone else");
        }
    }

    @Test
    void aLeaseThatCouldNotBeRenewedInTime_failsItsCheck_andStaysLostWhenTheStoreIsBack() throws Exception {
        try (S3Server s3 = S3Server.inMemory()) {
            s3.createBucket("away");
            try (S3Storage s = withLease(s3, "away", SHORT); Storage.RepositoryLock lock = s.lock("pgstrata backup (pid 1)")) {
                lock.check();
                s3.stop();
                Thread.sleep(SHORT.toMillis() + 300);
                org.assertj.core.api.Assertions.assertThatThrownBy(lock::check).isInstanceOf(org.pgstrata.storage.LockLostException.class)
                        .hasMessageContaining("not renewed");
                s3.start();
                Thread.sleep(SHORT.toMillis());
                org.assertj.core.api.Assertions.assertThatThrownBy(lock::check).isInstanceOf(org.pgstrata.storage.LockLostException.class)
                        .hasMessageContaining("not renewed");
            }
        }
    }

    @Test
    void aStoreWithoutConditionalWrites_isFoundOut() throws Exception {
        try (S3Server s3 = S3Server.inMemoryWithoutConditionalWrites()) {
            s3.createBucket("plain");
            try (Storage s = new S3Storage(S3Location.parse(s3.location("plain", "repo")))) {
                org.assertj.core.api.Assertions.assertThatThrownBy(s::checkConditionalWrites)
                        .isInstanceOf(org.pgstrata.storage.NoConditionalWritesException.class).hasMessageContaining("s3://plain/repo");
                assertThat(s.list("")).as("the probe is removed").isEmpty();
            }
        }
    }

    /**
     * Two writers find the same stale lock. The slower one's writes are held on the way (as on a
     * slow link, or a process paused between reading the lock and replacing it); meanwhile the
     * other takes the lock over and starts work. The slower one must not then take it as well:
     * before, it deleted the lock the other had just taken and created its own, and both held it.
     */
    @Test
    void twoWritersTakingOverOneStaleLock_neverBothHoldIt() throws Exception {
        String prefix = "stale" + PREFIXES.incrementAndGet() + "/repo";
        String host = java.net.InetAddress.getLocalHost().getHostName();
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newSingleThreadExecutor();
        try (WriteDelayingProxy slow = new WriteDelayingProxy(java.net.URI.create(server.endpoint()).getPort(), 1500);
             S3Storage fast = new S3Storage(S3Location.parse(server.location("contract", prefix)));
             S3Storage late = new S3Storage(new S3Location("contract", prefix, "http://127.0.0.1:" + slow.port(), S3Server.REGION, true))) {
            fast.putBytes("lock", ("holder=pgstrata backup (pid 4194305)\nhost=" + host + "\npid=4194305\ntoken=dead\n").getBytes());
            java.util.concurrent.Future<Storage.RepositoryLock> second = pool.submit(() -> late.lock("pgstrata expire (pid 2)"));
            Thread.sleep(500); // the late writer has read the stale lock; its next write is on its way
            Storage.RepositoryLock secondLock = null;
            try (Storage.RepositoryLock first = fast.lock("pgstrata backup (pid 1)")) {
                first.check();
                try {
                    secondLock = second.get(30, java.util.concurrent.TimeUnit.SECONDS);
                } catch (java.util.concurrent.ExecutionException e) {
                    assertThat(e.getCause()).isInstanceOf(org.pgstrata.storage.LockedException.class).hasMessageContaining("pid 1");
                }
                if (secondLock != null) {
                    boolean secondHolds = holds(secondLock);
                    boolean firstHolds = holds(first);
                    assertThat(firstHolds && secondHolds).as("both writers hold the lock at once").isFalse();
                }
            } finally {
                if (secondLock != null) {
                    secondLock.close();
                }
            }
        } finally {
            pool.shutdownNow();
        }
    }

    private static boolean holds(Storage.RepositoryLock lock) {
        try {
            lock.check();
            return true;
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** A TCP proxy to 127.0.0.1:{@code target} that holds each PUT and DELETE request for {@code delayMs}. */
    private static final class WriteDelayingProxy implements AutoCloseable {
        private final java.net.ServerSocket listener = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress());
        private final java.util.concurrent.ExecutorService threads = java.util.concurrent.Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "write-delaying-proxy");
            t.setDaemon(true);
            return t;
        });

        WriteDelayingProxy(int target, long delayMs) throws java.io.IOException {
            threads.submit(() -> {
                while (!listener.isClosed()) {
                    java.net.Socket client;
                    try {
                        client = listener.accept();
                    } catch (java.io.IOException e) {
                        return null;
                    }
                    java.net.Socket upstream = new java.net.Socket(java.net.InetAddress.getLoopbackAddress(), target);
                    threads.submit(() -> pipe(client, upstream, delayMs));
                    threads.submit(() -> pipe(upstream, client, 0));
                }
                return null;
            });
        }

        int port() {
            return listener.getLocalPort();
        }

        private static Void pipe(java.net.Socket from, java.net.Socket to, long delayMs) {
            byte[] buf = new byte[65536];
            try (from; to) {
                java.io.InputStream in = from.getInputStream();
                java.io.OutputStream out = to.getOutputStream();
                for (int n; (n = in.read(buf)) > 0; ) {
                    String head = new String(buf, 0, Math.min(n, 7), java.nio.charset.StandardCharsets.US_ASCII);
                    if (delayMs > 0 && (head.startsWith("PUT ") || head.startsWith("DELETE "))) {
                        Thread.sleep(delayMs);
                    }
                    out.write(buf, 0, n);
                    out.flush();
                }
            } catch (java.io.IOException | InterruptedException e) {
                // a side closed
            }
            return null;
        }

        @Override
        public void close() throws java.io.IOException {
            listener.close();
            threads.shutdownNow();
        }
    }
}
