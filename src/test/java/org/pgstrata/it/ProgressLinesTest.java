package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * What a command says while it works (its progress lines and warnings on standard error) names
 * the user's paths and names, which may hold a line break: each such line stays one line, so
 * that a name cannot forge another line of pgstrata's (here a tablespace location whose second
 * line reads as an error).
 */
class ProgressLinesTest extends PgTest {

    @Test
    void aTablespaceLocationWithALineBreak_staysOnTheRestoresProgressLine() throws Exception {
        LocalCluster source = pg.start("source", 17);
        Path location = Files.createDirectory(dir.resolve("ts\npgstrata: error: forged"));
        String oid = TablespaceRestoreTest.tablespaceWithATable(source, location);
        Path repo = dir.resolve("repo");
        String full = CliBackups.backupId(repo, source, "full");

        PrintStream err = System.err;
        ByteArrayOutputStream said = new ByteArrayOutputStream();
        CliRun restore;
        System.setErr(new PrintStream(said, true, StandardCharsets.UTF_8));
        try {
            restore = CliRun.run("restore", "--repo", repo.toString(), "--backup", full, "--to", dir.resolve("restored").toString());
        } finally {
            System.setErr(err);
        }
        String progress = said.toString(StandardCharsets.UTF_8);
        assertThat(restore.exitCode()).as("%s%s", restore.err(), progress).isZero();
        assertThat(progress).as("progress of the restore").contains("tablespace " + oid + " at " + dir + "/ts\\npgstrata: error: forged");
        assertThat(progress.lines().filter(l -> l.startsWith("pgstrata: error"))).as("progress of the restore:%n%s", progress).isEmpty();
    }

    /** The drill's result lines name each database it checked: a name with a line break (or a direction override) stays on its line. */
    @Test
    void aDatabaseNameWithALineBreak_staysOnTheDrillsCheckedLine() throws Exception {
        LocalCluster source = pg.start("drilled", 17);
        PgSupport.sql(source, "CREATE DATABASE \"d\nfinding: forged \u202e\"");
        Path repo = dir.resolve("drill-repo");
        CliBackups.backupId(repo, source, "full");
        CliRun drill = CliRun.run("drill", "-q", "--repo", repo.toString(), "--scratch-dir", dir.resolve("scratch").toString());
        assertThat(drill.exitCode()).as("%s%s", drill.out(), drill.err()).isZero();
        assertThat(drill.out()).as("what drill printed").contains("checked: database d\\nfinding: forged \\u202e: verify_heapam");
        assertThat(drill.out().lines().filter(l -> l.startsWith("finding"))).as("what drill printed:%n%s", drill.out()).isEmpty();
        assertThat(drill.out()).doesNotContain("\u202e");
    }

    /**
     * wal get and wal push, as archive_command and restore_command run them (a process of their own, on the lean path that
     * loads no command-line library), write into the server's log: a repository path with a line break stays on the line.
     */
    @Test
    void walGetOnTheLeanPath_aRepositoryPathWithALineBreak_staysOneLine() throws Exception {
        LocalCluster source = pg.start("lean", 17);
        Path repo = dir.resolve("lean repo\npgstrata: error: forged");
        CliBackups.ok("repo", "init", "--repo", repo.toString(), "--pgdata", source.pgdata().toString());
        ChildCli.Finished get = ChildCli.run(java.util.Map.of(), java.util.List.of(), 60, "wal", "get", "--repo", repo.toString(),
                "000000010000000000000099", dir.resolve("fetched").toString());
        assertThat(get.exitCode()).as(get.output()).isEqualTo(1);
        assertThat(get.output()).contains("is not in the archive at " + dir + "/lean repo\\npgstrata: error: forged");
        assertThat(get.output().lines().filter(l -> l.startsWith("pgstrata: error"))).as(get.output()).isEmpty();

        // And the warnings list and info print of a damaged backup in that repository, and verify's problem line.
        String damaged = PgSupport.fullBackup(repo, source).id();
        try (java.io.RandomAccessFile f = new java.io.RandomAccessFile(repo.resolve("backup").resolve(damaged).resolve("manifest").toFile(), "rw")) {
            f.seek(100);
            f.write("garbage".getBytes(StandardCharsets.US_ASCII));
        }
        for (String command : new String[] {"list", "info", "verify"}) {
            CliRun r = CliRun.run(command, "--repo", repo.toString());
            assertThat(r.exitCode()).as("%s: %s%s", command, r.out(), r.err()).isEqualTo(command.equals("verify") ? 15 : 0);
            String said = r.out() + r.err();
            assertThat(said).as(command).contains(damaged);
            // (verify's own error line says what it found; no line is the path's second one)
            assertThat(said.lines().filter(l -> l.startsWith("pgstrata: error: forged"))).as("%s said:%n%s", command, said).isEmpty();
        }
    }
}
