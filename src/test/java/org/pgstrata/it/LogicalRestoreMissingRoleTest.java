package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A logical backup of a database whose tables belong to a role, and grant privileges to another,
 * restored onto a server without those roles (a new host, a drill's scratch cluster). --no-owner
 * alone still failed at the first GRANT, with pg_restore's last lines and "see the message above"
 * (exit 30): there was no way to restore without the privileges, and a drill of such a backup
 * always failed. Now the missing role is named with the option that leaves it out (exit 17),
 * --no-privileges restores without GRANT and REVOKE, and the drill leaves them out.
 */
class LogicalRestoreMissingRoleTest extends PgTest {

    @Test
    void rolesTheServerLacks_areNamed_andNoPrivilegesRestoresWithoutThem_andTheDrillPasses() throws Exception {
        int major = LogicalSupport.serverMajor();
        LocalCluster source = pg.start("source", major);
        LocalCluster other = pg.start("other", major);
        Path repo = dir.resolve("repo");
        PgSupport.sql(source, "CREATE DATABASE shop", "CREATE ROLE \"read er\"", "CREATE ROLE keeper");
        LogicalSupport.sql(source, "shop", "CREATE TABLE t (id bigint PRIMARY KEY, v text)",
                "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g",
                "GRANT SELECT ON t TO \"read er\"", "CREATE TABLE kept (id int)", "INSERT INTO kept VALUES (7)", "ALTER TABLE kept OWNER TO keeper");
        ContentChecksum.Result expected = LogicalSupport.proof(source, "shop");
        String id = CliBackups.logicalBackup(repo, source, "shop", "full").get("id").asText();

        CliRun owners = restore(repo, other, "a");
        assertThat(owners.exitCode()).as(owners.err()).isEqualTo(17);
        assertThat(owners.errLines()).singleElement().asString()
                .contains("role keeper, which owns objects in backup " + id + ", does not exist on").contains("add --no-owner");
        CliRun grants = restore(repo, other, "b", "--no-owner");
        assertThat(grants.exitCode()).as(grants.err()).isEqualTo(17);
        assertThat(grants.errLines()).singleElement().asString()
                .contains("role read er, which backup " + id + " grants privileges to, does not exist on").contains("add --no-privileges");
        assertThat(LogicalSupport.databaseExists(other, "a")).isFalse();
        assertThat(LogicalSupport.databaseExists(other, "b")).isFalse();
        assertThat(LogicalSupport.leftoverRestoreDatabases(other)).isZero();

        CliRun without = restore(repo, other, "c", "--no-owner", "--no-privileges");
        assertThat(without.exitCode()).as(without.err()).isZero();
        assertThat(LogicalSupport.proof(other, "c")).isEqualTo(expected);

        CliRun drill = CliRun.run("drill", "--repo", repo.toString(), "--scratch-dir", dir.resolve("scratch").toString(), "--backup", id);
        assertThat(drill.exitCode()).as("%s %s", drill.out(), drill.err()).isZero();
    }

    private static CliRun restore(Path repo, LocalCluster server, String db, String... options) {
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("restore", "-q", "--logical", "--repo", repo.toString(),
                "--port", CliBackups.port(server), "--to-db", db));
        args.addAll(java.util.List.of(options));
        return CliRun.run(args.toArray(String[]::new));
    }
}
