package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.CipherPass;
import org.pgstrata.db.LocalCluster;

/**
 * A TMPDIR on a file system mounted noexec, as hardened hosts (CIS benchmarks, many container
 * platforms) mount /tmp. zstd-jni unpacks its native library there and the dynamic linker cannot
 * map it: every command that compressed failed with "internal error: NoClassDefFoundError: Could
 * not initialize class ZstdFrames" (exit 70), a checkout's launcher and a bare `java -cp` alike.
 * The library now loads from pgstrata's cache first (as the installed command always did), from
 * TMPDIR when the cache cannot hold it, and when neither works one line names both places and the
 * noexec mount (exit 22). Conscrypt, which encrypts, unpacked its library there too: under such a
 * TMPDIR an encrypted repository ran on the JDK's AES-GCM, about twenty times slower, without a
 * word. It now unpacks into the cache, and a warning says when it still does not load.
 */
class NoexecTmpdirTest extends PgTest {
    private static final String PASS = "noexec passphrase";

    @Test
    void aTmpdirMountedNoexec_doesNotStopOrSlowAnEncryptedBackupOrItsRestore_andWithNowhereToLoadFromIsOneLine() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g", "CHECKPOINT");
        Path repo = dir.resolve("repo");
        Path target = dir.resolve("restored");
        try (SmallDisk noexec = SmallDisk.mount(dir.resolve("noexec"), 64, ",noexec")) {
            List<String> tmp = List.of("-Djava.io.tmpdir=" + noexec.path());
            Map<String, String> freshCache = Map.of("TMPDIR", noexec.path().toString(), "PGSTRATA_CACHE", dir.resolve("cache").toString(),
                    CipherPass.ENV, PASS, "PGSTRATA_VERBOSE", "1");

            ChildCli.Finished init = ChildCli.runWithoutNativeCache(freshCache, tmp, 180, "repo", "init", "-q", "--encrypt", "--repo",
                    repo.toString(), "--pgdata", source.pgdata().toString());
            assertThat(init.exitCode()).as(init.output()).isZero();
            ChildCli.Finished backup = ChildCli.runWithoutNativeCache(freshCache, tmp, 180, "backup", "-q", "--repo", repo.toString(),
                    "--pgdata", source.pgdata().toString(), "--port", CliBackups.port(source));
            assertThat(backup.exitCode()).as(backup.output()).isZero();
            ChildCli.Finished restore = ChildCli.runWithoutNativeCache(freshCache, tmp, 180, "restore", "-q", "--repo", repo.toString(),
                    "--to", target.toString());
            assertThat(restore.exitCode()).as(restore.output()).isZero();
            for (ChildCli.Finished r : List.of(backup, restore)) {
                assertThat(r.output()).as("the cipher's provider").contains("AES-GCM from Conscrypt").doesNotContain("warning");
            }
            try (var left = Files.list(noexec.path())) {
                assertThat(left.toList()).as("what was left in TMPDIR").isEmpty();
            }

            // The cache on the same noexec file system: nowhere to load from. One line, its own code, naming the cause.
            Map<String, String> noexecCache = Map.of("TMPDIR", noexec.path().toString(), "PGSTRATA_CACHE", noexec.path().resolve("cache").toString(),
                    CipherPass.ENV, PASS);
            ChildCli.Finished refused = ChildCli.runWithoutNativeCache(noexecCache, tmp, 180, "backup", "-q", "--repo", repo.toString(),
                    "--pgdata", source.pgdata().toString(), "--port", CliBackups.port(source));
            assertThat(refused.output()).as("no stack trace").doesNotContain("\tat ").doesNotContain("internal error");
            assertThat(refused.output().lines().filter(l -> l.startsWith("pgstrata: error: ")).toList()).as(refused.output()).singleElement()
                    .asString().contains("cannot load the compression library").contains(noexec.path().toString()).contains("noexec")
                    .contains("; hint: ");
            assertThat(refused.exitCode()).as(refused.output()).isEqualTo(22);
        }
        // A cache that cannot be written: the libraries unpack into an ordinary TMPDIR, as they do by default
        Path notADirectory = Files.writeString(dir.resolve("not-a-directory"), "");
        ChildCli.Finished verify = ChildCli.runWithoutNativeCache(Map.of("PGSTRATA_CACHE", notADirectory.resolve("cache").toString(),
                CipherPass.ENV, PASS, "PGSTRATA_VERBOSE", "1"), List.of(), 180, "verify", "-q", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.output()).isZero();
        assertThat(verify.output()).contains("AES-GCM from Conscrypt").doesNotContain("warning");

        LocalCluster copy = pg.trackRestored(target, 17);
        copy.start(LocalCluster.freePort());
        PgSupport.awaitReadWrite(copy, 120); // the proof installs amcheck
        assertThat(ClusterContent.proof(copy)).isEqualTo(ClusterContent.of(source));
        // The proof is of this content: a change on the source is seen
        PgSupport.sql(source, "UPDATE t SET v = 'changed' WHERE id = 1");
        assertThat(ClusterContent.of(copy)).isNotEqualTo(ClusterContent.of(source));
    }
}
