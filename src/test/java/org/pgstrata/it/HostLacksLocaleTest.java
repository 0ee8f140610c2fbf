package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * A backup restored on a host that lacks a locale the source had (made here for the source alone,
 * with LOCPATH, as the source's host had it). The copy's server refused the source's
 * lc_monetary at start: restore --start said so as a failing server (exit 19), and a drill
 * recorded the sound backup as failed (49, "do not rely on this backup"). It is now a setting
 * this host refuses, exit 20 in one line, and no drill is recorded; with the locale, the same
 * drill passes. A database created in such a locale let the copy start, but its connection was
 * refused ("database locale is incompatible with operating system"): the drill recorded the
 * backup as failed (49), and restore --start exited 0 with that database unreachable; both are
 * now exit 20 naming the database and its locale (the restored server left running).
 */
class HostLacksLocaleTest extends PgTest {
    @Test
    void aSettingNamingALocaleThisHostLacks_failsTheStartInOneLine_andRecordsNoDrill() throws Exception {
        Path repo = dir.resolve("repo");
        Path locales = PgSupport.germanLocale(dir);
        LocalCluster source = sourceWithLocale(repo, locales);
        PgSupport.sql(source, "ALTER SYSTEM SET lc_monetary = 'de_DE.UTF-8'", "SELECT pg_reload_conf()",
                "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");
        CliBackups.backupId(repo, source, "full");

        Path copy = dir.resolve("copy");
        CliRun r = CliRun.run("restore", "-q", "--repo", repo.toString(), "--to", copy.toString(), "--start", "--port",
                Integer.toString(LocalCluster.freePort()));
        LocalCluster restored = pg.trackRestored(copy, 17);
        assertThat(r.exitCode()).as(r.err()).isEqualTo(20);
        assertThat(r.errLines()).as(r.err()).singleElement().asString().startsWith("pgstrata: error: ").contains("lc_monetary")
                .contains("de_DE.UTF-8").contains("locale");
        // Its hint: change the setting, start the copy
        Path auto = copy.resolve("postgresql.auto.conf");
        Files.writeString(auto, Files.readAllLines(auto).stream().filter(l -> !l.contains("lc_monetary")).collect(Collectors.joining("\n", "", "\n")));
        restored.start();
        assertThat(PgSupport.queryString(restored, "SELECT count(*) || ' ' || max(id) FROM t")).isEqualTo("1000 1000");
        restored.stop();

        drillFailsHere_andPassesWithTheLocale(repo, locales, "lc_monetary");
    }

    @Test
    void aDatabaseInALocaleThisHostLacks_failsTheDrillInOneLine_andRecordsNothing() throws Exception {
        Path repo = dir.resolve("repo");
        Path locales = PgSupport.germanLocale(dir);
        LocalCluster source = sourceWithLocale(repo, locales);
        PgSupport.sql(source, "CREATE DATABASE shop LOCALE 'de_DE.UTF-8' TEMPLATE template0");
        LogicalSupport.sql(source, "shop", "CREATE TABLE t AS SELECT g AS id FROM generate_series(1, 1000) g");
        CliBackups.backupId(repo, source, "full");

        // restore --start: the server runs (the other databases serve), and the one that cannot is named, exit 20
        Path copy = dir.resolve("copy");
        CliRun r = CliRun.run("restore", "-q", "--repo", repo.toString(), "--to", copy.toString(), "--start", "--port",
                Integer.toString(LocalCluster.freePort()));
        LocalCluster restored = pg.trackRestored(copy, 17);
        assertThat(r.exitCode()).as(r.out() + r.err()).isEqualTo(20);
        assertThat(r.errLines()).as(r.err()).singleElement().asString().startsWith("pgstrata: error: ").contains("database shop")
                .contains("de_DE.UTF-8").contains("is running");
        assertThat(restored.postmasterAlive()).isTrue();
        assertThat(PgSupport.queryString(restored, "SELECT pg_is_in_recovery()::text")).isEqualTo("false");
        // Its hint: the locale on this host, and the server started again
        restored.stop();
        restored.start(null, Map.of("LOCPATH", locales.toString()));
        try (java.sql.Connection c = org.pgstrata.db.Db.connect(LogicalSupport.conn(restored, "shop"))) {
            assertThat(org.pgstrata.db.Db.queryString(c, "SELECT count(*) || ' ' || max(id) FROM t")).isEqualTo("1000 1000");
        }
        restored.stop();

        drillFailsHere_andPassesWithTheLocale(repo, locales, "database shop");
    }

    /** A drill here: exit 20 in one line naming {@code what}, nothing recorded; with the locale (LOCPATH), it passes. */
    private void drillFailsHere_andPassesWithTheLocale(Path repo, Path locales, String what) throws Exception {
        CliRun drill = CliRun.run("drill", "-q", "--repo", repo.toString(), "--scratch-dir", dir.resolve("drills").toString());
        assertThat(drill.exitCode()).as(drill.out() + drill.err()).isEqualTo(20);
        assertThat(drill.errLines()).as(drill.err()).singleElement().asString().startsWith("pgstrata: error: ").contains(what)
                .doesNotContain("do not rely");
        assertThat(CliBackups.ok("list", "--repo", repo.toString()).out()).as("no drill is recorded against the backup").doesNotContain("failed");
        ChildCli.Finished there = ChildCli.run(Map.of("LOCPATH", locales.toString()), List.of(), 120, "drill", "-q", "--repo", repo.toString(),
                "--scratch-dir", dir.resolve("drills").toString());
        assertThat(there.exitCode()).as(there.output()).isZero();
    }

    private LocalCluster sourceWithLocale(Path repo, Path locales) {
        LocalCluster source = pg.archiving("source", repo);
        source.stop();
        source.start(null, Map.of("LOCPATH", locales.toString()));
        return source;
    }
}
