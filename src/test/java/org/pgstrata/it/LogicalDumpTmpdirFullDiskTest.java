package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupInfo;
import org.pgstrata.db.LocalCluster;

/**
 * A logical full with --jobs above 1 has pg_dump write its directory-format dump into TMPDIR
 * first. A TMPDIR that fills: one line that gives pg_dump's reason (no room, and where), exit 22,
 * nothing added to the repository; with room, the same backup works. (pg_dump's messages went to
 * a log file in that same full TMPDIR, so the error said "(no message)" with exit 30.)
 */
class LogicalDumpTmpdirFullDiskTest extends PgTest {

    @Test
    void directoryDumpIntoAFullTmpdir_saysWhy_exit22() throws Exception {
        LocalCluster source = pg.start("source", 15); // the system's pg_dump is 15
        PgSupport.sql(source, "CREATE TABLE t (id int primary key, v text)",
                "INSERT INTO t SELECT g, md5(g::text) || md5((g*7)::text) FROM generate_series(1, 200000) g");
        Path repo = dir.resolve("repo");
        String first = CliBackups.logicalBackup(repo, source, "postgres", "full").get("id").asText();
        try (SmallDisk tmp = SmallDisk.mount(dir.resolve("tmp"), 50)) {
            List<String> jvm = new ArrayList<>(org.pgstrata.api.Self.nativeLibraryOptions());
            jvm.add("-Djava.io.tmpdir=" + tmp.path());
            String[] backup = {"backup", "-q", "--logical", "--jobs", "2", "--repo", repo.toString(), "--port", CliBackups.port(source),
                "--dbname", "postgres", "--type", "full"};
            tmp.leave(2 << 20);
            ChildCli.Finished r = ChildCli.run(Map.of(), jvm, 180, backup);
            assertThat(r.output()).as("no stack trace").doesNotContain("\tat ");
            assertThat(r.output().lines().filter(l -> l.startsWith("pgstrata: error: ")).toList()).as(r.output()).singleElement().asString()
                    .contains("No space left on device").contains(tmp.path().toString()).doesNotContain("(no message)");
            assertThat(r.exitCode()).as(r.output()).isEqualTo(22);
            assertThat(PgSupport.facade().list(repo.toString())).extracting(BackupInfo::id).containsExactly(first);

            tmp.free();
            ChildCli.Finished again = ChildCli.run(Map.of(), jvm, 180, backup);
            assertThat(again.exitCode()).as(again.output()).isZero();
        }
    }
}
