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
}
