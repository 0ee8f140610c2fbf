package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A drill on a host whose PostgreSQL lacks an extension the source's database uses (hstore, whose
 * column the drill reads to the last row): the copy starts, but reading the column needs the
 * library. The drill recorded the sound backup as failed (exit 49, "do not rely on this backup");
 * it is now binaries missing (18), as for a preloaded library, in one line naming the library,
 * nothing recorded; with binaries that have it, the same drill passes.
 */
class DrillExtensionLibraryMissingTest extends PgTest {
    @Test
    void aDrillWithBinariesLackingAnExtensionsLibrary_saysSoInOneLine_andRecordsNothing() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster source = pg.archiving("source", repo);
        PgSupport.sql(source, "CREATE EXTENSION hstore", "CREATE TABLE h AS SELECT g AS id, ('k=>' || g)::hstore AS v FROM generate_series(1, 100) g");
        CliBackups.backupId(repo, source, "full");

        Path lacking = ShutdownTargetVerdictTest.binariesWithout(dir, "hstore");
        CliRun drill = CliRun.run("drill", "-q", "--repo", repo.toString(), "--pg-bin", lacking.toString(), "--scratch-dir", dir.resolve("drills").toString());
        assertThat(drill.exitCode()).as(drill.out() + drill.err()).isEqualTo(18);
        assertThat(drill.errLines()).as(drill.err()).singleElement().asString().startsWith("pgstrata: error: ").contains("$libdir/hstore")
                .contains("public.h").doesNotContain("do not rely");
        assertThat(CliBackups.ok("list", "--repo", repo.toString()).out()).as("no drill is recorded against the backup").doesNotContain("failed");

        CliRun there = CliRun.run("drill", "-q", "--repo", repo.toString(), "--scratch-dir", dir.resolve("drills").toString());
        assertThat(there.exitCode()).as(there.out() + there.err()).isZero();
        assertThat(there.out()).contains("PASSED");
    }
}
