package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * Invariant 8 read the other way: verify rejects exactly the backups a restore would reject. A
 * damaged old-pages object of a reverse delta is read only by the restore of that step back; the
 * newest full, whose files share their bottom object with the reverse delta's, restores, and
 * verify must not tell the user to stop relying on it.
 */
class VerifyDamagedReversePagesTest extends PgTest {

    @Test
    void aDamagedReverseDeltaObject_rejectsOnlyTheStepBack() throws Exception {
        LocalCluster c = pg.start("c", 17);
        PgSupport.sql(c, "ALTER SYSTEM SET autovacuum = off", "SELECT pg_reload_conf()",
                "CREATE TABLE t (id int PRIMARY KEY, v text)", "INSERT INTO t SELECT g, repeat('a', 100) FROM generate_series(1, 20000) g",
                "VACUUM ANALYZE t", "CHECKPOINT");
        Path repo = dir.resolve("repo");
        String old = CliBackups.backupId(repo, c, "reverse");
        PgSupport.sql(c, "UPDATE t SET v = repeat('b', 100) WHERE id % 3 = 0", "CHECKPOINT");
        String newest = CliBackups.backupId(repo, c, "reverse");

        // Damage every old-pages object of the step back (they live in the newest full's directory).
        List<Path> pages;
        try (Stream<Path> s = Files.list(repo.resolve("backup").resolve(newest).resolve("reverse"))) {
            pages = s.filter(p -> {
                try {
                    return Files.size(p) > 200;
                } catch (java.io.IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).toList();
        }
        assertThat(pages).isNotEmpty();
        for (Path p : pages) {
            byte[] b = Files.readAllBytes(p);
            for (int i = b.length / 2; i < b.length / 2 + 8; i++) {
                b[i] ^= (byte) 0x5a;
            }
            Files.write(p, b);
        }

        // A restore of the newest full reads none of them, and succeeds; that of the step back fails.
        CliRun restoreNewest = CliRun.run("restore", "-q", "--repo", repo.toString(), "--backup", newest, "--to", dir.resolve("n").toString());
        assertThat(restoreNewest.exitCode()).as(restoreNewest.err()).isZero();
        CliRun restoreOld = CliRun.run("restore", "-q", "--repo", repo.toString(), "--backup", old, "--to", dir.resolve("o").toString());
        assertThat(restoreOld.exitCode()).isNotZero();

        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).isEqualTo(15);
        assertThat(verify.out()).contains("backup " + old + " would not restore")
                .doesNotContain("backup " + newest + " would not restore")
                .contains("a restore would reject: " + old + "\n");
    }
}
