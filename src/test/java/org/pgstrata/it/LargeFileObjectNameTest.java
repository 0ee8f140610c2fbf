package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupResult;
import org.pgstrata.db.LocalCluster;

/**
 * Files of 256 KiB and more are stored as objects named after their path: two paths must never share an object (u/big
 * and u+big), and no name that the data directory allows (a backslash, a deep path longer than a file name may be) may
 * fail the backup. Each restores with its own bytes.
 */
class LargeFileObjectNameTest extends PgTest {
    private static byte[] random(long seed) {
        byte[] b = new byte[300 * 1024];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    @Test
    void largeFilesWithOddPaths_eachRestoreWithTheirOwnBytes() throws Exception {
        LocalCluster source = sourceWithATable();
        Path data = source.pgdata();
        Path deep = data.resolve("notes/" + "d".repeat(100) + "/" + "e".repeat(100) + "/" + "f".repeat(100));
        Files.createDirectories(deep);
        backUpAndRestore(source, Map.of(data.resolve("notes/big"), random(1), data.resolve("notes+big"), random(2),
                data.resolve("notes/back\\slash"), random(3), deep.resolve("big"), random(4)));
    }

    /**
     * In an encrypted repository each name component is at most 144 bytes (RepositoryCipher): a file of 256 KiB or more whose
     * path has 141 to 200 characters was named after its path all the same, and every backup of that data directory failed
     * ("the name 'notes+nnn...n.zst' is too long for an encrypted repository (160 bytes; at most 144)"), where a repository in
     * the clear took it.
     */
    @Test
    void aLargeFileWithAPathOf150Characters_backsUpIntoAnEncryptedRepository_andRestores() throws Exception {
        LocalCluster source = sourceWithATable();
        Path file = source.pgdata().resolve("notes/" + "n".repeat(144)); // "notes+nnn...n.zst": 154 bytes
        Files.createDirectories(file.getParent());
        org.pgstrata.api.CipherPass.use(new org.pgstrata.api.CipherPass.Source("test", "a passphrase".toCharArray()), true);
        try {
            backUpAndRestore(source, Map.of(file, random(5)));
        } finally {
            org.pgstrata.api.CipherPass.clear();
        }
        assertThat(Files.readString(dir.resolve("repo/repo.json"))).as("the repository is encrypted").contains("\"encryption\"");
    }

    private LocalCluster sourceWithATable() throws Exception {
        LocalCluster source = pg.start("source", 17);
        PgSupport.sql(source, "CREATE TABLE t (id int primary key, v text)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g");
        return source;
    }

    /** Writes {@code files} into the source, takes a full backup into dir/repo and restores it: the content, amcheck, and each file's own bytes. */
    private void backUpAndRestore(LocalCluster source, Map<Path, byte[]> files) throws Exception {
        var expected = ClusterContent.of(source);
        for (var f : files.entrySet()) {
            Files.write(f.getKey(), f.getValue());
        }
        BackupResult b = PgSupport.fullBackup(dir.resolve("repo"), source);
        LocalCluster restored = pg.restoreAndStart(dir.resolve("repo"), b.id(), "restored", 17);
        assertThat(ClusterContent.of(restored)).isEqualTo(expected);
        assertThat(ClusterContent.amcheck(restored)).isEmpty();
        Path data = source.pgdata();
        for (var f : files.entrySet()) {
            assertThat(restored.pgdata().resolve(data.relativize(f.getKey()))).as(data.relativize(f.getKey()).toString()).hasBinaryContent(f.getValue());
        }
    }
}
