package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.api.Progress;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.Books;
import org.pgstrata.it.PgSupport;

/**
 * A --backup that is a path rather than an id ('..', '../archive', a backslash) names no backup:
 * delete, restore, verify and drill say so in one line with exit code 17 and touch nothing. They
 * used to stop with "internal error" (exit 70) from the storage's key check.
 */
class BackupIdPathTest {
    @TempDir
    Path dir;

    @Test
    void aBackupIdThatIsAPath_isABackupThatDoesNotExist() throws Exception {
        Path repo = dir.resolve("repo");
        try (PgSupport pg = new PgSupport(dir)) {
            LocalCluster a = pg.start("a", 17);
            try (Connection c = PgSupport.connect(a)) {
                Books.init(c);
                Books.populate(c, 500, 500, 1, Progress.NONE);
            }
            PgSupport.fullBackup(repo, a);
        }
        List<String> ids = PgSupport.facade().list(repo.toString()).stream().map(BackupInfo::id).toList();
        Map<String, Long> before = PgSupport.fileSizes(repo);
        for (String id : List.of("..", "../archive", "a\\b", ids.get(0) + "/../" + ids.get(0))) {
            for (List<String> cmd : List.of(List.of("delete"), List.of("delete", "--with-dependants"), List.of("verify"),
                    List.of("restore", "--to", dir.resolve("target").toString()))) {
                List<String> args = new java.util.ArrayList<>(cmd);
                args.addAll(List.of("--repo", repo.toString(), "--backup", id));
                CliRun r = CliRun.run(args.toArray(String[]::new));
                assertThat(r.exitCode()).as(args + ": " + r.err()).isEqualTo(17);
                assertThat(r.err().strip()).as(args.toString()).startsWith("pgstrata: error: backup " + id + " does not exist in ")
                        .contains("; hint: ").doesNotContain("\n");
            }
        }
        assertThat(PgSupport.fileSizes(repo)).isEqualTo(before);
        assertThat(Files.exists(dir.resolve("target"))).isFalse();
    }
}
