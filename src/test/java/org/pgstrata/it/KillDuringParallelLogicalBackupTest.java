package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A parallel logical backup (--jobs 2: pg_dump writes a directory-format dump into TMPDIR, which
 * pgstrata then stores) killed with SIGKILL once pg_dump had written its dump: the dump, whole
 * and uncompressed, stayed in TMPDIR for good; each such kill left another. Its directory now
 * carries its owner (pid, start time, host) as a logical restore's does, and the next logical
 * backup removes the dumps of runs that are provably gone, and says so.
 */
class KillDuringParallelLogicalBackupTest extends PgTest {

    @Test
    void parallelLogicalBackupKilled_nextBackupRemovesTheDumpItLeft() throws Exception {
        LocalCluster source = pg.start("source", LogicalSupport.serverMajor());
        PgSupport.sql(source, "CREATE DATABASE shop");
        LogicalSupport.sql(source, "shop", "CREATE TABLE t AS SELECT g AS id, md5(g::text) AS v FROM generate_series(1, 20000) g",
                "ALTER TABLE t ADD PRIMARY KEY (id)");
        Path repo = dir.resolve("repo");
        Path tmp = Files.createDirectories(dir.resolve("tmp"));

        // pg_dump that, once it has written the dump, says so and waits (in a shell builtin) before it exits
        Path real = LogicalSupport.pgDump().program();
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path fifo = dir.resolve("never");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        Path marker = dir.resolve("dumped");
        Files.writeString(bin.resolve("pg_dump"), "#!/bin/bash\n"
                + "case \" $* \" in *' --version '*) exec '" + real + "' \"$@\" ;; esac\n"
                + "'" + real + "' \"$@\"; rc=$?\n"
                + "touch '" + marker + "'; read -t 120 <> '" + fifo + "'; exit $rc\n");
        Files.setPosixFilePermissions(bin.resolve("pg_dump"), PosixFilePermissions.fromString("rwxr-xr-x"));

        Process child = ChildCli.start(Map.of(), List.of("-Djava.io.tmpdir=" + tmp), "backup", "--logical", "--jobs", "2", "--repo",
                repo.toString(), "--port", CliBackups.port(source), "--dbname", "shop", "--pg-bin", bin.toString());
        try {
            for (int i = 0; i < 1200 && !Files.exists(marker) && child.isAlive(); i++) {
                Thread.sleep(100);
            }
            assertThat(marker).exists();
        } finally {
            List<ProcessHandle> wrappers = child.descendants().toList(); // reparented once the JVM is gone
            ChildCli.kill(child);
            wrappers.forEach(ProcessHandle::destroyForcibly);
        }
        assertThat(child.exitValue()).isEqualTo(137);
        List<Path> left = dumps(tmp);
        assertThat(left).hasSize(1);

        ChildCli.Finished again = ChildCli.run(Map.of(), List.of("-Djava.io.tmpdir=" + tmp), 120, "backup", "--logical", "--repo",
                repo.toString(), "--port", CliBackups.port(source), "--dbname", "shop");
        assertThat(again.exitCode()).as(again.output()).isZero();
        assertThat(dumps(tmp)).as("the dump the killed backup left in TMPDIR").isEmpty();
        assertThat(again.output()).contains("removed " + left.get(0) + ", the dump an interrupted logical backup left");
        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.err()).isZero();
    }

    private static List<Path> dumps(Path tmp) throws Exception {
        try (Stream<Path> s = Files.list(tmp)) {
            return s.filter(p -> p.getFileName().toString().contains("dump")).toList();
        }
    }
}
