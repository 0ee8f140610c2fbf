package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A logical backup or restore stopped by SIGTERM (or Ctrl-C) while its pg_dump or pg_restore
 * ran: the JVM exited 143, but the child went on without it (a pg_restore kept loading, a pg_dump
 * waiting for a lock waited forever, a parallel pg_dump filled TMPDIR). The child is now stopped
 * with the command, which still says in one line that it was interrupted; nothing partial is
 * listed, and the next run works.
 */
class LogicalInterruptedChildTest extends PgTest {

    /**
     * A directory of wrappers that run the real client programs, except that the first real run
     * of {@code paused} (not --version, not --list) writes its pid to {@code marker} and waits
     * (in a shell builtin, so the pid is the one process to stop) before it becomes that program.
     */
    private Path wrappers(String paused) throws Exception {
        Path real = LogicalSupport.pgDump().program().getParent();
        Path bin = Files.createDirectories(dir.resolve("bin"));
        Path fifo = dir.resolve("never");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor()).isZero();
        for (String name : List.of("pg_dump", "pg_restore")) {
            String script = "#!/bin/bash\n"
                    + (name.equals(paused) ? "case \" $* \" in *' --version '*|*' --list '*|*' -l '*) ;; *)\n"
                            + "  if [ ! -e '" + dir.resolve("marker") + "' ]; then echo $$ > '" + dir.resolve("marker.tmp") + "'; mv '"
                            + dir.resolve("marker.tmp") + "' '" + dir.resolve("marker") + "'; read -t 120 <> '" + fifo + "'; fi ;;\nesac\n" : "")
                    + "exec '" + real.resolve(name) + "' \"$@\"\n";
            Path p = bin.resolve(name);
            Files.writeString(p, script);
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        return bin;
    }

    /** Sends SIGTERM once the paused child program runs; returns its pid after the command ended. */
    private long interruptWhileChildRuns(Process cmd, Path log) throws Exception {
        Path marker = dir.resolve("marker");
        long deadline = System.nanoTime() + 120_000_000_000L;
        while (!Files.exists(marker) && cmd.isAlive() && System.nanoTime() < deadline) {
            Thread.sleep(50);
        }
        assertThat(marker).as(Files.exists(log) ? Files.readString(log) : "").exists();
        long pid = Long.parseLong(Files.readString(marker).trim());
        cmd.destroy(); // SIGTERM
        assertThat(cmd.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return pid;
    }

    private static boolean aliveAfter(long pid, int seconds) throws InterruptedException {
        long deadline = System.nanoTime() + seconds * 1_000_000_000L;
        while (System.nanoTime() < deadline) {
            if (ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false)) {
                Thread.sleep(100);
            } else {
                return false;
            }
        }
        ProcessHandle.of(pid).ifPresent(ProcessHandle::destroyForcibly); // leave nothing behind
        return true;
    }

    private static void saidInterruptedOnce(String out) {
        assertThat(out.lines().filter(l -> l.startsWith("pgstrata: error: ")).toList()).as(out).hasSize(1)
                .allMatch(l -> l.contains("interrupted (Ctrl-C or SIGTERM)"));
    }

    @Test
    void logicalBackupStoppedBySigterm_stopsItsPgDump_andListsNothing() throws Exception {
        LocalCluster source = pg.start("source", LogicalSupport.serverMajor());
        PgSupport.sql(source, "CREATE DATABASE shop");
        LogicalSupport.sql(source, "shop", "CREATE TABLE t (id int PRIMARY KEY, v text)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g");
        Path repo = dir.resolve("repo");
        Path log = dir.resolve("backup.log");
        Process backup = ChildCli.startLogged(Map.of(), log, "backup", "--logical", "--repo", repo.toString(), "--port",
                CliBackups.port(source), "--dbname", "shop", "--pg-bin", wrappers("pg_dump").toString());
        long pgDump;
        try {
            pgDump = interruptWhileChildRuns(backup, log);
        } finally {
            ChildCli.kill(backup);
        }
        String out = Files.readString(log);
        assertThat(backup.exitValue()).as(out).isEqualTo(143);
        saidInterruptedOnce(out);
        assertThat(aliveAfter(pgDump, 10)).as("pg_dump (pid %d) still runs after the command ended", pgDump).isFalse();

        CliRun list = CliRun.run("list", "--repo", repo.toString(), "--json");
        assertThat(list.out()).doesNotContain("\"logical\"");
        CliRun again = CliRun.run("backup", "--logical", "-q", "--repo", repo.toString(), "--port", CliBackups.port(source), "--dbname", "shop");
        assertThat(again.exitCode()).as(again.err()).isZero();
        CliRun verify = CliRun.run("verify", "--repo", repo.toString());
        assertThat(verify.exitCode()).as(verify.err()).isZero();
    }

    @Test
    void logicalRestoreStoppedBySigterm_stopsItsPgRestore_andTheNextRestoreWorks() throws Exception {
        LocalCluster source = pg.start("source", LogicalSupport.serverMajor());
        PgSupport.sql(source, "CREATE DATABASE shop");
        LogicalSupport.sql(source, "shop", "CREATE TABLE t (id int PRIMARY KEY, v text)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 1000) g");
        var content = LogicalSupport.proof(source, "shop");
        Path repo = dir.resolve("repo");
        String id = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        Path log = dir.resolve("restore.log");
        Process restore = ChildCli.startLogged(Map.of(), log, "restore", "--logical", "--repo", repo.toString(), "--backup", id,
                "--port", CliBackups.port(source), "--to-db", "copy", "--pg-bin", wrappers("pg_restore").toString());
        long pgRestore;
        try {
            pgRestore = interruptWhileChildRuns(restore, log);
        } finally {
            ChildCli.kill(restore);
        }
        String out = Files.readString(log);
        assertThat(restore.exitValue()).as(out).isEqualTo(143);
        saidInterruptedOnce(out);
        assertThat(aliveAfter(pgRestore, 10)).as("pg_restore (pid %d) still runs after the command ended", pgRestore).isFalse();
        assertThat(LogicalSupport.databaseExists(source, "copy")).isFalse();

        CliBackups.logicalRestore(repo, source, id, "copy");
        assertThat(LogicalSupport.proof(source, "copy")).isEqualTo(content);
        assertThat(LogicalSupport.leftoverRestoreDatabases(source)).isZero();
    }

    /** Alive and not a zombie: a killed child that nobody has reaped yet counts as gone. */
    private static boolean running(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            return stat.charAt(stat.lastIndexOf(')') + 2) != 'Z';
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /**
     * SIGKILL runs no shutdown hook: the command's child went on (a pg_restore loading into the
     * target for nobody, a pg_dump holding its locks). It is started with a parent-death signal
     * now, so it dies with the JVM; a second passes first, so that the thread that asked for the
     * child has ended (the signal follows the thread that forked, not the process).
     */
    private void killedBySigkill_leavesNoChild(String program, String... args) throws Exception {
        Path log = dir.resolve(program + ".log");
        List<String> all = new ArrayList<>(List.of(args));
        all.addAll(List.of("--pg-bin", wrappers(program).toString()));
        Process cmd = ChildCli.startLogged(Map.of(), log, all.toArray(String[]::new));
        long child;
        try {
            Path marker = dir.resolve("marker");
            long deadline = System.nanoTime() + 120_000_000_000L;
            while (!Files.exists(marker) && cmd.isAlive() && System.nanoTime() < deadline) {
                Thread.sleep(50);
            }
            assertThat(marker).as(Files.exists(log) ? Files.readString(log) : "").exists();
            child = Long.parseLong(Files.readString(marker).trim());
            Thread.sleep(1000);
            assertThat(running(child)).as("%s ended before the kill: %s", program, Files.readString(log)).isTrue();
            cmd.destroyForcibly(); // SIGKILL
            assertThat(cmd.waitFor(30, TimeUnit.SECONDS)).isTrue();
        } finally {
            ChildCli.kill(cmd);
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (running(child) && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        boolean left = running(child);
        if (left) {
            ProcessHandle.of(child).ifPresent(ProcessHandle::destroyForcibly); // leave nothing behind
        }
        assertThat(left).as("%s (pid %d) still runs 5 s after its pgstrata was killed with SIGKILL", program, child).isFalse();
    }

    @Test
    void logicalBackupKilledBySigkill_leavesNoPgDumpRunning() throws Exception {
        LocalCluster source = LogicalSupport.shopWithOneRow(pg);
        killedBySigkill_leavesNoChild("pg_dump", "backup", "--logical", "--repo", dir.resolve("repo").toString(), "--port",
                CliBackups.port(source), "--dbname", "shop");
    }

    @Test
    void logicalRestoreKilledBySigkill_leavesNoPgRestoreRunning() throws Exception {
        LocalCluster source = LogicalSupport.shopWithOneRow(pg);
        Path repo = dir.resolve("repo");
        String id = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();
        killedBySigkill_leavesNoChild("pg_restore", "restore", "--logical", "--repo", repo.toString(), "--backup", id,
                "--port", CliBackups.port(source), "--to-db", "copy");
    }
}
