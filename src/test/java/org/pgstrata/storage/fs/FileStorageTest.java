package org.pgstrata.storage.fs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.storage.Storage;
import org.pgstrata.storage.StorageContract;

class FileStorageTest extends StorageContract {
    @TempDir
    Path dir;

    @Override
    protected Storage newStorage() {
        return new FileStorage(dir.resolve("repo"));
    }

    @Override
    protected Path directories() {
        return dir.resolve("repo");
    }

    /**
     * delete prunes the directories it leaves empty: a writer in the same directory must not fail
     * because the directory went between its making it and creating its temporary file (two
     * commands creating one repository at once, each with its conditional-write probe).
     */
    @Test
    void writersAndDeletersInOneDirectory_neverFailEachOther() throws Exception {
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
            for (String who : List.of("a", "b")) {
                done.add(pool.submit(() -> {
                    for (int i = 0; i < 400; i++) {
                        storage.putBytes("probe/" + who + i, new byte[] {1});
                        storage.delete("probe/" + who + i);
                    }
                    return null;
                }));
            }
            for (var f : done) {
                f.get();
            }
        } finally {
            pool.shutdownNow();
        }
        assertThat(storage.list("")).isEmpty();
    }

    @Test
    void killedWriter_leavesOnlyATemporaryFile_thatIsNeverListed() throws Exception {
        Storage.ObjectWriter w = storage.create("backup/x/data/file");
        w.stream().write(new byte[] {1, 2, 3});
        w.stream().flush();
        // no commit, no close: as if the process died here
        assertThat(storage.list("")).isEmpty();
        assertThat(((FileStorage) storage).leftoverTemporaryFiles()).hasSize(1);
        assertThat(Files.exists(dir.resolve("repo/backup/x/data/file"))).isFalse();

        storage.putBytes("backup/x/data/other", new byte[] {4});
        storage.putBytes("backup/y/keep", new byte[] {5});
        storage.deletePrefix("backup/x/");
        assertThat(((FileStorage) storage).leftoverTemporaryFiles()).isEmpty();
        assertThat(storage.list("")).containsExactly("backup/y/keep");
        assertThat(Files.exists(dir.resolve("repo/backup/x"))).isFalse();
    }

    @Test
    void aLockWhoseFileWasRemoved_andLockedAgainByAnother_failsItsCheck_namingTheNewHolder() throws Exception {
        try (Storage.RepositoryLock first = storage.lock("pgstrata backup (pid 4242)")) {
            // Someone takes the lock file for a stale one and removes it; the next writer locks a new file.
            Files.delete(dir.resolve("repo/lock"));
            try (Storage.RepositoryLock second = storage.lock("pgstrata expire (pid 5353)")) {
                second.check();
                org.assertj.core.api.Assertions.assertThatThrownBy(first::check).isInstanceOf(org.pgstrata.storage.LockLostException.class)
                        .hasMessageContaining("was replaced").hasMessageContaining("pgstrata expire (pid 5353)");
            }
            // Once lost, always lost.
            org.assertj.core.api.Assertions.assertThatThrownBy(first::check).isInstanceOf(org.pgstrata.storage.LockLostException.class);
        }
    }

    @Test
    void aLockWhoseFileWasRemoved_failsItsCheck() throws Exception {
        try (Storage.RepositoryLock lock = storage.lock("pgstrata backup (pid 4242)")) {
            Files.delete(dir.resolve("repo/lock"));
            org.assertj.core.api.Assertions.assertThatThrownBy(lock::check).isInstanceOf(org.pgstrata.storage.LockLostException.class)
                    .hasMessageContaining("was removed");
        }
    }

    /** Holds the lock of the repository in args[0] in its own process, checking it, until its input closes. */
    public static final class Holder {
        public static void main(String[] args) throws Exception {
            try (Storage s = new FileStorage(java.nio.file.Path.of(args[0])); Storage.RepositoryLock lock = s.lock("pgstrata backup (pid holder)")) {
                lock.check();
                System.out.println("held");
                System.out.flush();
                lock.check();
                System.in.read();
            }
        }
    }

    /**
     * Locks the lock file of the repository in args[0] as a writer does, and writes its name only
     * a moment later, as a writer that another command started with reads between the two.
     */
    public static final class LateNamer {
        public static void main(String[] args) throws Exception {
            java.nio.file.Path file = java.nio.file.Path.of(args[0]).resolve("lock");
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file, java.nio.file.StandardOpenOption.CREATE,
                    java.nio.file.StandardOpenOption.WRITE); java.nio.channels.FileLock lock = ch.tryLock()) {
                ch.truncate(0);
                System.out.println(lock == null ? "not held" : "held");
                System.out.flush();
                Thread.sleep(300);
                ch.write(java.nio.ByteBuffer.wrap("pgstrata backup (pid late)\n".getBytes(java.nio.charset.StandardCharsets.UTF_8)), 0);
                System.in.read();
            }
        }
    }

    @Test
    void aLockTakenAtTheSameMoment_namesItsHolder_oneWrittenJustAfter() throws Exception {
        // Two commands started together: the second found the lock taken and its file still empty, and said "another process".
        Files.createDirectories(dir.resolve("repo"));
        Process holder = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), LateNamer.class.getName(), dir.resolve("repo").toString()).redirectErrorStream(true).start();
        try {
            java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(holder.getInputStream()));
            assertThat(out.readLine()).isEqualTo("held");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> storage.lock("pgstrata expire (pid 2)"))
                    .isInstanceOf(org.pgstrata.storage.LockedException.class).hasMessageContaining("pgstrata backup (pid late)");
        } finally {
            holder.getOutputStream().close();
            holder.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
        }
    }

    @Test
    void aLockHeldAndCheckedByAnotherProcess_staysHeld() throws Exception {
        // fcntl locks belong to a process and go when it closes any descriptor of the file: the holder's own checks must not.
        Process holder = new ProcessBuilder(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp",
                System.getProperty("java.class.path"), Holder.class.getName(), dir.resolve("repo").toString()).redirectErrorStream(true).start();
        try {
            java.io.BufferedReader out = new java.io.BufferedReader(new java.io.InputStreamReader(holder.getInputStream()));
            assertThat(out.readLine()).isEqualTo("held");
            org.assertj.core.api.Assertions.assertThatThrownBy(() -> storage.lock("pgstrata expire (pid 2)"))
                    .isInstanceOf(org.pgstrata.storage.LockedException.class).hasMessageContaining("pid holder");
        } finally {
            holder.getOutputStream().close();
            holder.waitFor(30, java.util.concurrent.TimeUnit.SECONDS);
        }
        try (Storage.RepositoryLock again = storage.lock("pgstrata expire (pid 2)")) {
            again.check();
        }
    }
}
