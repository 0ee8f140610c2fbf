package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.it.PgSupport;
import org.pgstrata.manifest.Repository;

/** advise refuses what it cannot measure with one line and a hint, and creates nothing on the way. */
class AdviseBadInputTest {
    @TempDir
    Path dir;

    @Test
    void advise_withoutADataDirectoryOrAFittingBackup_isRefused() throws Exception {
        try (PgSupport pg = new PgSupport(dir)) {
            LocalCluster a = pg.start("a", 17);
            String pgdata = a.pgdata().toString();
            String port = Integer.toString(PgSupport.conn(a).port());
            Set<Integer> seen = new HashSet<>();

            Path notData = Files.createDirectories(dir.resolve("not-a-data-dir"));
            CliRun r = Refusals.expectFailure(seen, ErrorCode.NOT_A_DATA_DIR, "advise", "--repo", dir.resolve("repo").toString(),
                    "--pgdata", notData.toString(), "--port", port);
            assertThat(r.err()).contains(notData + " is not a PostgreSQL data directory");

            Path nothing = dir.resolve("nothing");
            r = Refusals.expectFailure(seen, ErrorCode.NOT_FOUND, "advise", "--repo", nothing.toString(), "--pgdata", pgdata, "--port", port);
            assertThat(r.err()).contains("no pgstrata repository at " + nothing);
            assertThat(nothing).as("advise creates no repository").doesNotExist();

            Path other = dir.resolve("other");
            try (Repository repo = Repository.open(other.toString())) {
                repo.initialize("6000000000000000001", 17, Clock.systemUTC());
            }
            r = Refusals.expectFailure(seen, ErrorCode.REPO_MISMATCH, "advise", "--repo", other.toString(), "--pgdata", pgdata, "--port", port);
            assertThat(r.err()).contains("belongs to the cluster with system identifier 6000000000000000001");

            Path empty = dir.resolve("empty");
            PgSupport.facade().repoInit(empty.toString(), a.pgdata());
            r = Refusals.expectFailure(seen, ErrorCode.NOT_FOUND, "advise", "--repo", empty.toString(), "--pgdata", pgdata, "--port", port);
            assertThat(r.err()).contains("holds no physical full backup").contains("pgstrata backup --repo " + empty);

            PgSupport.fullBackup(empty, a);
            Path missing = dir.resolve("no such scratch");
            r = Refusals.expectFailure(seen, ErrorCode.IO, "advise", "--repo", empty.toString(), "--pgdata", pgdata, "--port", port,
                    "--scratch-dir", missing.toString());
            assertThat(r.err()).contains("cannot create a scratch directory in " + missing + ": " + missing + " does not exist");
        }
    }
}
