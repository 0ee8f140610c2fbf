package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.BackupRequest;
import org.pgstrata.api.BackupResult;
import org.pgstrata.api.BackupType;
import org.pgstrata.api.Compression;
import org.pgstrata.db.Db;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.demo.ContentChecksum;

/**
 * A cluster with a tablespace outside its data directory. A restore puts the tablespace inside
 * the copy, as a directory in pg_tblspc (the source may run on the same machine, at the same
 * path), which PostgreSQL accepts only with allow_in_place_tablespaces; --tablespace-map puts it
 * in a directory of its own instead.
 */
class TablespaceRestoreTest extends PgTest {

    @Test
    void fullAndIncremental_ofAClusterWithATablespace_restoreWithTheTablespaceInside() throws Exception {
        LocalCluster source = pg.start("source", 17);
        String oid = tablespaceWithATable(source, Files.createDirectory(dir.resolve("elsewhere")));
        BackupResult full = backup(source, BackupType.FULL);
        Map<String, ContentChecksum.Result> atFull = ClusterContent.of(source);
        PgSupport.sql(source, "UPDATE t SET v = 'changed' WHERE id % 100 = 0", "CREATE DATABASE d TABLESPACE elsewhere");
        BackupResult incr = backup(source, BackupType.INCR);
        Map<String, ContentChecksum.Result> atIncr = ClusterContent.of(source);

        for (var point : Map.of(full, atFull, incr, atIncr).entrySet()) {
            LocalCluster restored = pg.restoreAndStart(dir.resolve("repo"), point.getKey().id(), "restored-" + point.getKey().id(), 17);
            Path tablespace = restored.pgdata().resolve("pg_tblspc").resolve(oid);
            assertThat(Files.isDirectory(tablespace) && !Files.isSymbolicLink(tablespace)).as("%s is a directory", tablespace).isTrue();
            assertThat(Files.readString(restored.pgdata().resolve("postgresql.auto.conf"))).contains("allow_in_place_tablespaces = on");
            assertThat(ClusterContent.of(restored)).as("content of %s", point.getKey().id()).isEqualTo(point.getValue());
            assertThat(ClusterContent.amcheck(restored)).isEmpty();
            restored.stop();
        }
    }

    /**
     * --tablespace-map puts a tablespace in a directory of its own, linked from pg_tblspc as
     * PostgreSQL links its own, named by its location in the backup or by its OID; the copy then
     * runs without allow_in_place_tablespaces. A mapping that cannot be honoured is refused before
     * anything is written.
     */
    @Test
    void tablespaceMap_putsEachTablespaceInItsOwnDirectory_andRefusesWhatItCannotHonour() throws Exception {
        LocalCluster source = pg.start("source", 17);
        // PostgreSQL refuses a single quote in a location; a backslash and an '=' it takes
        Path location = Files.createDirectory(dir.resolve("else where \\ a=b $(date) `id` ü"));
        String oid = tablespaceWithATable(source, location);
        Path repo = dir.resolve("repo");
        String full = CliBackups.backupId(repo, source, "full");
        Map<String, ContentChecksum.Result> atFull = ClusterContent.of(source);
        PgSupport.sql(source, "UPDATE t SET v = 'changed' WHERE id % 100 = 0", "CREATE DATABASE d TABLESPACE elsewhere");
        String incr = CliBackups.backupId(repo, source, "incr");
        Map<String, ContentChecksum.Result> atIncr = ClusterContent.of(source);
        assertThat(atIncr).isNotEqualTo(atFull);

        // By its location at the backup, and by its OID
        Map<String, String> mapBy = Map.of(full, location.toString().replace("=", "\\=") + "=" + dir.resolve("ts-full"), incr, oid + "=" + dir.resolve("ts incr"));
        for (String id : java.util.List.of(full, incr)) {
            Path target = dir.resolve("restored-" + id);
            Path moved = Path.of(mapBy.get(id).substring(mapBy.get(id).lastIndexOf('=') + 1));
            CliBackups.Restored r = CliBackups.restore(pg, repo, target, 17, "--backup", id, "--tablespace-map", mapBy.get(id));
            Path link = target.resolve("pg_tblspc").resolve(oid);
            assertThat(Files.isSymbolicLink(link)).as("%s is a link", link).isTrue();
            assertThat(Files.readSymbolicLink(link)).isEqualTo(moved);
            try (var s = Files.list(moved)) {
                assertThat(s.map(p -> p.getFileName().toString()).toList()).singleElement().asString().startsWith("PG_17_");
            }
            assertThat(Files.readString(target.resolve("postgresql.auto.conf"))).doesNotContain("allow_in_place_tablespaces");
            assertThat(ClusterContent.of(r.cluster())).as("content of %s", id).isEqualTo(id.equals(full) ? atFull : atIncr);
            assertThat(ClusterContent.amcheck(r.cluster())).isEmpty();
            r.cluster().stop();
        }

        // Refused, and nothing written: a directory that is not empty, a tablespace the backup lacks, a relative directory,
        // a directory inside the target
        Path busy = Files.createDirectory(dir.resolve("busy"));
        Files.writeString(busy.resolve("keep"), "mine");
        Path target = dir.resolve("refused");
        Object[][] cases = {
            {oid + "=" + busy, 10, "is not an empty directory"},
            {"99999=" + dir.resolve("x"), 2, "is no tablespace of backup"},
            {oid + "=relative/dir", 2, "is not an absolute path"},
            {oid + "=" + target.resolve("inside"), 2, "contain one another"},
            {"no-equals-sign", 2, "expected OLD=NEW"},
        };
        for (Object[] c : cases) {
            var r = org.pgstrata.cli.CliRun.run("restore", "--repo", repo.toString(), "--to", target.toString(), "--tablespace-map", (String) c[0]);
            assertThat(r.exitCode()).as("exit of --tablespace-map %s: %s", c[0], r.err()).isEqualTo((Integer) c[1]);
            assertThat(r.errLines()).as("--tablespace-map %s", c[0]).singleElement().asString().contains((String) c[2]);
            assertThat(target).as("after --tablespace-map %s", c[0]).doesNotExist();
            assertThat(dir.resolve("x")).doesNotExist();
        }
        // Inside an (empty) target by another name, through a link: the same directory
        Path emptyTarget = Files.createDirectory(dir.resolve("refused-empty"));
        Path intoTarget = Files.createSymbolicLink(dir.resolve("link to the target"), emptyTarget);
        var inside = org.pgstrata.cli.CliRun.run("restore", "--repo", repo.toString(), "--to", emptyTarget.toString(), "--tablespace-map",
                oid + "=" + intoTarget.resolve("inside"));
        assertThat(inside.exitCode()).as(inside.err()).isEqualTo(2);
        assertThat(inside.errLines()).singleElement().asString().contains("contain one another");
        assertThat(names(emptyTarget)).isEmpty();
        assertThat(Files.readString(busy.resolve("keep"))).isEqualTo("mine");
        assertThat(names(busy)).containsExactly("keep");

        // A restore that fails midway removes what it wrote into the mapped directory, and the directory it made
        Path damaged = dir.resolve("repo-damaged");
        PgSupport.copyTree(repo, damaged);
        damageLargestFile(damaged);
        Path moved = dir.resolve("ts-damaged");
        var failed = org.pgstrata.cli.CliRun.run("restore", "--repo", damaged.toString(), "--backup", full, "--to", target.toString(),
                "--tablespace-map", oid + "=" + moved, "--jobs", "1");
        assertThat(failed.exitCode()).as(failed.err()).isEqualTo(15);
        assertThat(target).doesNotExist();
        assertThat(moved).doesNotExist();

        // A link to an empty directory is taken as that directory; a failed restore empties it, and puts its mode back
        Path disk = Files.createDirectory(dir.resolve("disk2-ts"));
        Files.setPosixFilePermissions(disk, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        Path viaLink = Files.createSymbolicLink(dir.resolve("srv-ts"), disk);
        var failedThroughLink = org.pgstrata.cli.CliRun.run("restore", "--repo", damaged.toString(), "--backup", full, "--to",
                target.toString(), "--tablespace-map", oid + "=" + viaLink, "--jobs", "1");
        assertThat(failedThroughLink.exitCode()).as(failedThroughLink.err()).isEqualTo(15);
        assertThat(target).doesNotExist();
        assertThat(Files.isSymbolicLink(viaLink)).isTrue();
        assertThat(names(disk)).isEmpty();
        assertThat(java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(disk))).isEqualTo("rwxr-xr-x");
        CliBackups.Restored throughLink = CliBackups.restore(pg, repo, dir.resolve("restored-through-link"), 17, "--backup", full,
                "--tablespace-map", oid + "=" + viaLink);
        assertThat(ClusterContent.of(throughLink.cluster())).isEqualTo(atFull);
        assertThat(names(disk)).singleElement().asString().startsWith("PG_17_");
    }

    /** Flips a bit in the middle of the largest file under {@code repo} (the biggest data object): a restore of it fails, exit 15. */
    static void damageLargestFile(Path repo) throws java.io.IOException {
        Path largest;
        try (var s = Files.walk(repo)) {
            largest = s.filter(Files::isRegularFile).max(java.util.Comparator.comparingLong(p -> p.toFile().length())).orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(largest);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(largest, bytes);
    }

    /** Tablespace "elsewhere" at {@code location}, holding table t of 5,000 rows; its OID. */
    static String tablespaceWithATable(LocalCluster source, Path location) throws Exception {
        try (Connection c = PgSupport.connect(source)) {
            Db.execute(c, "CREATE TABLESPACE elsewhere LOCATION '" + location + "'");
            Db.execute(c, "CREATE TABLE t (id int PRIMARY KEY, v text) TABLESPACE elsewhere");
            Db.execute(c, "INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 5000) g");
            return Db.queryString(c, "SELECT oid FROM pg_tablespace WHERE spcname = 'elsewhere'");
        }
    }

    private static java.util.List<String> names(Path d) throws java.io.IOException {
        try (var s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).toList();
        }
    }

    private BackupResult backup(LocalCluster source, BackupType type) {
        return PgSupport.facade().backup(new BackupRequest(dir.resolve("repo").toString(), source.pgdata(), PgSupport.conn(source), type,
                Compression.ZSTD, 2, 0));
    }
}
