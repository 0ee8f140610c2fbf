package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.CipherPass;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.Self;
import org.pgstrata.db.Db;
import org.pgstrata.db.Amcheck;
import org.pgstrata.demo.Books;
import org.pgstrata.demo.ContentChecksum;
import org.pgstrata.manifest.Envelope;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.storage.Storage;
import org.pgstrata.storage.crypt.EncryptedStorage;
import org.pgstrata.storage.crypt.KeyEnvelope;
import org.pgstrata.storage.fs.FileStorage;
import org.pgstrata.storage.crypt.RepositoryCipher;

/**
 * An encrypted repository on a directory, as a user drives it (pgstrata in child processes, the
 * passphrase in their environment, archive_command pushing into it): every kind of backup holds
 * neither the data nor the names; each restores proven; a wrong or missing passphrase and a
 * flipped bit are each their own one-line error that writes nothing; rotate-pass rewrites no
 * object.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class EncryptedRepositoryTest {
    private static final String PASS = "correct horse $(battery) `staple` ünï";
    private static final String MARKER = "Zq83-secret-marker";
    private static final String TABLE = "Zq83 secret table";
    private static final int MAJOR = LogicalSupport.serverMajor();

    @TempDir
    static Path dir;
    static PgSupport pg;
    static LocalCluster source;
    static Path repo;
    static final Map<String, ContentChecksum.Result> proofs = new TreeMap<>();
    static final List<String> physical = new ArrayList<>();
    static String logical;
    static ContentChecksum.Result logicalProof;

    @BeforeAll
    static void setUp() throws Exception {
        pg = new PgSupport(dir);
        repo = dir.resolve("repo");
        // The repository is made by cluster init, encrypted; the server archives into it from its first segment.
        CipherPass.use(new CipherPass.Source("test", PASS.toCharArray()), true);
        try {
            // The machine's pg_dump's major, for the logical backup.
            source = pg.track(PgSupport.facade().clusterInit(dir.resolve("source"), LocalCluster.freePort(), MAJOR, null, repo.toString()));
        } finally {
            CipherPass.clear();
        }
        source.start(null, Map.of(CipherPass.ENV, PASS)); // archive_command's passphrase: the server's environment
        try (Connection c = PgSupport.connect(source)) {
            Books.init(c);
            Books.populate(c, 20_000, 5_000, 1, org.pgstrata.api.Progress.NONE);
        }
        PgSupport.sql(source, "CREATE TABLE \"" + TABLE + "\" (id int PRIMARY KEY, note text)",
                "INSERT INTO \"" + TABLE + "\" SELECT i, '" + MARKER + " ' || i FROM generate_series(1, 2000) i");
    }

    @AfterAll
    static void tearDown() {
        pg.close();
    }

    /** pgstrata in a child process with {@code env} added (PG* variables removed); returns {exit code, output}. */
    static Object[] cli(Map<String, String> env, String... args) throws Exception {
        StringBuilder line = new StringBuilder(Self.shellCommand());
        for (String a : args) {
            line.append(' ').append(Self.quote(a));
        }
        ProcessBuilder pb = new ProcessBuilder("sh", "-c", line.toString()).redirectErrorStream(true);
        pb.environment().keySet().removeIf(k -> k.startsWith("PG"));
        pb.environment().putAll(env);
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(300, TimeUnit.SECONDS)).isTrue();
        return new Object[] {p.exitValue(), out};
    }

    static Object[] cli(String... args) throws Exception {
        return cli(Map.of(CipherPass.ENV, PASS), args);
    }

    static String ok(Object[] r) {
        assertThat((int) r[0]).as(String.valueOf(r[1])).isZero();
        return (String) r[1];
    }

    static String port() {
        return CliBackups.port(source);
    }

    static ContentChecksum.Result proofOfSource() throws Exception {
        try (Connection c = PgSupport.connect(source)) {
            return ContentChecksum.compute(c);
        }
    }

    static String backup(String type) throws Exception {
        JsonNode j = new ObjectMapper().readTree(ok(cli("backup", "-q", "--json", "--repo", repo.toString(), "--pgdata",
                source.pgdata().toString(), "--port", port(), "--type", type, "--compress", "none")));
        return j.get("id").asText();
    }

    @Test
    @Order(1)
    void everyKindOfBackup_leavesNeitherTheDataNorItsNamesInTheRepository() throws Exception {
        proofs.put(backup("full"), proofOfSource());
        PgSupport.sql(source, "UPDATE \"" + TABLE + "\" SET note = note || ' changed' WHERE id % 3 = 0", "UPDATE books SET price = price + 1 WHERE id % 7 = 0");
        String incr = backup("incr");
        proofs.put(incr, proofOfSource());
        PgSupport.sql(source, "INSERT INTO \"" + TABLE + "\" SELECT i, '" + MARKER + " late ' || i FROM generate_series(2001, 2500) i");
        String reverse = backup("reverse");
        proofs.put(reverse, proofOfSource());
        physical.addAll(proofs.keySet());
        JsonNode l = new ObjectMapper().readTree(ok(cli("backup", "-q", "--json", "--logical", "--repo", repo.toString(), "--port", port(),
                "--dbname", "postgres", "--compress", "none")));
        logical = l.get("id").asText();
        logicalProof = proofOfSource();
    }

    @Test
    @Order(2)
    void theRepositoryBytesAndNames_holdNoMarker_whileAClearCopyWould() throws Exception {
        PgSupport.sql(source, "SELECT pg_switch_wal()");
        waitForArchive();
        // Words of 5 bytes or more: a 4-byte one turns up by chance in some 60 MB of ciphertext about once in 70 runs.
        List<String> words = List.of(MARKER, TABLE, "PG_VERSION", "pg_control", "base/", "books");
        int files = 0;
        try (Stream<Path> s = Files.walk(repo)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                String name = repo.relativize(p).toString();
                byte[] bytes = Files.readAllBytes(p);
                String text = new String(bytes, StandardCharsets.ISO_8859_1);
                for (String w : words) { // all ASCII: the same bytes in UTF-8 and ISO-8859-1
                    assertThat(name).as("the name of " + name).doesNotContain(w);
                    assertThat(text).as(w + " in the bytes of " + name).doesNotContain(w);
                }
                files++;
            }
        }
        assertThat(files).as("backups, WAL and the logical dump").isGreaterThan(20);
        // The same check finds the marker in the source's own files: the proof can fail.
        ok(cli(Map.of(), "backup", "-q", "--repo", dir.resolve("clear").toString(), "--pgdata", source.pgdata().toString(), "--port", port(),
                "--compress", "none"));
        boolean found = false;
        try (Stream<Path> s = Files.walk(dir.resolve("clear"))) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                found |= new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1).contains(MARKER);
            }
        }
        assertThat(found).as("a clear repository holds the marker").isTrue();
    }

    /** Until no WAL file waits to be archived: archive_command found the passphrase in the server's environment. */
    private static void waitForArchive() throws Exception {
        PitrTest.waitForArchive(source);
    }

    @Test
    @Order(3)
    void everyBackupRestores_provenByContent() throws Exception {
        for (String id : physical) {
            restoreAndProve(id, proofs.get(id));
        }
        String db = "enc_logical";
        ok(cli("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", logical, "--port", port(), "--to-db", db));
        assertThat(LogicalSupport.proof(source, db)).isEqualTo(logicalProof);
    }

    private static void restoreAndProve(String id, ContentChecksum.Result expected) throws Exception {
        Path target = dir.resolve("restore-" + id);
        int p = LocalCluster.freePort();
        ok(cli("restore", "-q", "--repo", repo.toString(), "--backup", id, "--to", target.toString(), "--start", "--port", String.valueOf(p)));
        LocalCluster restored = pg.trackRestored(target, MAJOR);
        try (Connection c = Db.connect(PgSupport.conn(restored))) {
            assertThat(ContentChecksum.compute(c)).as("backup " + id).isEqualTo(expected);
            assertThat(Amcheck.check(c)).isEmpty();
        }
        restored.stop();
    }

    @Test
    @Order(4)
    void aWrongOrMissingPassphrase_isItsOwnOneLineError_andWritesNothing() throws Exception {
        Path target = dir.resolve("never");
        Object[] wrong = cli(Map.of(CipherPass.ENV, PASS + "x"), "restore", "--repo", repo.toString(), "--to", target.toString());
        assertThat((int) wrong[0]).as(String.valueOf(wrong[1])).isEqualTo(ErrorCode.CIPHER_PASS_WRONG.exitCode());
        assertThat(((String) wrong[1]).strip().lines()).hasSize(1).first().asString().startsWith("pgstrata: error: the passphrase");
        Object[] missing = cli(Map.of(), "list", "--repo", repo.toString());
        assertThat((int) missing[0]).as(String.valueOf(missing[1])).isEqualTo(ErrorCode.CIPHER_PASS_MISSING.exitCode());
        assertThat(((String) missing[1]).strip().lines()).hasSize(1);
        Map<String, String> before = PgSupport.snapshot(repo);
        Object[] backup = cli(Map.of(CipherPass.ENV, "nope"), "backup", "--repo", repo.toString(), "--pgdata", source.pgdata().toString(),
                "--port", port());
        assertThat((int) backup[0]).isEqualTo(ErrorCode.CIPHER_PASS_WRONG.exitCode());
        assertThat(((String) backup[1]).strip().lines()).as(String.valueOf(backup[1])).hasSize(1);
        // The key is unwrapped while the backup connects to the server; the lock waits for it.
        assertThat(PgSupport.snapshot(repo)).as("a backup with a wrong passphrase took no lock and wrote nothing").isEqualTo(before);
        assertThat(Files.exists(target)).isFalse();
        // The passphrase from a file works as the environment's does.
        Path file = dir.resolve("pass");
        Files.writeString(file, PASS + "\n");
        java.nio.file.Files.setPosixFilePermissions(file, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")); // a passphrase file: no other user may read it
        assertThat(ok(cli(Map.of(), "list", "--repo", repo.toString(), "--cipher-pass-file", file.toString()))).contains(physical.get(0))
                .contains("repository " + repo + " is encrypted");
        assertThat(ok(cli("info", "--repo", repo.toString()))).contains("repository " + repo + " is encrypted");
        JsonNode listed = new ObjectMapper().readTree(ok(cli("list", "--json", "--repo", repo.toString())));
        assertThat(listed.get(0).get("encrypted").asBoolean()).isTrue();
    }

    private static boolean isEmpty(Path p) throws java.io.IOException {
        try (Stream<Path> s = Files.list(p)) {
            return s.findAny().isEmpty();
        }
    }

    /** This repository's ciphers, from its repo.json and the passphrase. */
    private static RepositoryCipher cipher() throws Exception {
        byte[] info = Envelope.open("repo.json", Files.readAllBytes(repo.resolve("repo.json")));
        JsonNode e = new ObjectMapper().readTree(info).get("encryption");
        KeyEnvelope env = new ObjectMapper().treeToValue(e, KeyEnvelope.class);
        return new RepositoryCipher(env.unwrap(PASS.toCharArray()));
    }

    /** The file that holds the largest object under {@code prefix} whose key contains {@code part}. */
    private static Path largest(String prefix, String part) throws Exception {
        RepositoryCipher c = cipher();
        try (Storage s = new EncryptedStorage(new FileStorage(repo), c)) {
            String best = null;
            long size = -1;
            for (String k : s.list(prefix)) {
                if (k.contains(part) && s.size(k) > size) {
                    best = k;
                    size = s.size(k);
                }
            }
            assertThat(best).as(part + " under " + prefix).isNotNull();
            return repo.resolve(c.encryptName(best));
        }
    }

    @Test
    @Order(5)
    void aFlippedBitInAManifest_aDataObject_orAWalSegment_isCorrupt_andRestoreWritesNothing() throws Exception {
        String full = physical.get(physical.size() - 1); // the newest: a full since the reverse backup
        Path manifest = largest("backup/" + full + "/", "/manifest");
        Path data = largest("backup/" + full + "/", "/data/");
        for (Path victim : List.of(manifest, data)) {
            byte[] before = Files.readAllBytes(victim);
            byte[] bad = before.clone();
            bad[bad.length / 2] ^= 0x04;
            Files.write(victim, bad);
            Path target = dir.resolve("flipped-" + victim.getFileName().toString().substring(0, 6));
            Object[] r = cli("restore", "--repo", repo.toString(), "--backup", full, "--to", target.toString());
            assertThat((int) r[0]).as(victim + ": " + r[1]).isEqualTo(ErrorCode.CORRUPT.exitCode());
            assertThat(((String) r[1]).lines().filter(l -> l.startsWith("pgstrata: error:"))).hasSize(1);
            assertThat(!Files.exists(target) || isEmpty(target)).as("nothing written for " + victim).isTrue();
            Object[] v = cli("verify", "--repo", repo.toString());
            assertThat((int) v[0]).as(String.valueOf(v[1])).isEqualTo(ErrorCode.CORRUPT.exitCode());
            Files.write(victim, before);
        }
        // A bundle fails its authentication as a whole: one problem, naming the backups that read it and how many of its files
        // would not restore (verify printed one problem for each file in each backup, the same reason each time: hundreds of lines).
        Path bundle = largest("backup/" + full + "/", "/bundle/");
        byte[] intact = Files.readAllBytes(bundle);
        byte[] flipped = intact.clone();
        flipped[flipped.length / 2] ^= 0x04;
        Files.write(bundle, flipped);
        try {
            Object[] bundleVerify = cli("verify", "--repo", repo.toString());
            assertThat((int) bundleVerify[0]).as(String.valueOf(bundleVerify[1])).isEqualTo(ErrorCode.CORRUPT.exitCode());
            assertThat(((String) bundleVerify[1]).lines().filter(l -> l.startsWith("problem: "))).as(String.valueOf(bundleVerify[1]))
                    .singleElement().asString()
                    .containsPattern("^problem: backups? [^:]*" + full + "[^:]* would not restore: [0-9]+ files \\(.*, .*, .* and [0-9]+ more\\): "
                            + "cannot read bundle ");
        } finally {
            Files.write(bundle, intact); // the tests after this one use the repository
        }
        // The backup's WAL comes from the archive (this cluster's archive_command fills it), through restore_command.
        JsonNode newest = new ObjectMapper().readTree(ok(cli("list", "--json", "--repo", repo.toString()))).get(physical.size() - 1);
        String[] lsn = newest.get("startLsn").asText().split("/");
        String segment = String.format("00000001%08X%08X", Long.parseLong(lsn[0], 16), Long.parseLong(lsn[1], 16) >>> 24);
        Path wal = largest("archive/", segment);
        byte[] before = Files.readAllBytes(wal);
        byte[] bad = before.clone();
        bad[bad.length / 2] ^= 0x04;
        Files.write(wal, bad);
        Path walTarget = dir.resolve("flipped-wal");
        Object[] restore = cli("restore", "--repo", repo.toString(), "--backup", newest.get("id").asText(), "--to", walTarget.toString());
        assertThat((int) restore[0]).as(String.valueOf(restore[1])).isEqualTo(ErrorCode.CORRUPT.exitCode());
        assertThat((String) restore[1]).contains(segment);
        assertThat(walTarget).doesNotExist();
        Path fetched = dir.resolve("fetched-" + segment);
        Object[] get = cli("wal", "get", "--repo", repo.toString(), segment, fetched.toString());
        assertThat((int) get[0]).as(String.valueOf(get[1])).isEqualTo(126); // damaged: PostgreSQL stops recovery
        assertThat((String) get[1]).contains("authentication");
        assertThat(fetched).doesNotExist();
        Object[] v = cli("verify", "--repo", repo.toString());
        assertThat((int) v[0]).as(String.valueOf(v[1])).isEqualTo(ErrorCode.CORRUPT.exitCode());
        Files.write(wal, before);
        ok(cli("verify", "--repo", repo.toString()));
    }

    @Test
    @Order(6)
    void rotatePass_theOldPassphraseStopsWorking_theNewOneRestores_andNoObjectIsRewritten() throws Exception {
        Map<Path, FileTime> mtimes = new TreeMap<>();
        Map<Path, Integer> hashes = new TreeMap<>();
        try (Stream<Path> s = Files.walk(repo)) {
            for (Path p : s.filter(Files::isRegularFile).toList()) {
                if (!p.getFileName().toString().equals("repo.json") && !p.getFileName().toString().equals("lock")) {
                    mtimes.put(p, Files.getLastModifiedTime(p));
                    hashes.put(p, java.util.Arrays.hashCode(Files.readAllBytes(p)));
                }
            }
        }
        Path next = dir.resolve("new-pass");
        Files.writeString(next, "a new passphrase\n");
        java.nio.file.Files.setPosixFilePermissions(next, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------")); // a passphrase file: no other user may read it
        ok(cli("repo", "rotate-pass", "--repo", repo.toString(), "--new-cipher-pass-file", next.toString()));
        Object[] old = cli("list", "--repo", repo.toString());
        assertThat((int) old[0]).as(String.valueOf(old[1])).isEqualTo(ErrorCode.CIPHER_PASS_WRONG.exitCode());
        Map<String, String> newEnv = Map.of(CipherPass.ENV, "a new passphrase");
        String full = physical.get(physical.size() - 1);
        Path target = dir.resolve("after-rotation");
        int p = LocalCluster.freePort();
        ok(cli(newEnv, "restore", "-q", "--repo", repo.toString(), "--backup", full, "--to", target.toString(), "--start", "--port",
                String.valueOf(p)));
        LocalCluster restored = pg.trackRestored(target, MAJOR);
        try (Connection c = Db.connect(PgSupport.conn(restored))) {
            assertThat(ContentChecksum.compute(c)).isEqualTo(proofs.get(full));
        }
        restored.stop();
        for (var e : mtimes.entrySet()) {
            assertThat(Files.getLastModifiedTime(e.getKey())).as("mtime of " + e.getKey()).isEqualTo(e.getValue());
            assertThat(java.util.Arrays.hashCode(Files.readAllBytes(e.getKey()))).as("bytes of " + e.getKey()).isEqualTo(hashes.get(e.getKey()));
        }
    }

    @Test
    @Order(7)
    void archiveAndRestoreCommands_takeThePassphraseFromTheStanza() throws Exception {
        String segment = PgSupport.queryString(source, "SELECT last_archived_wal FROM pg_stat_archiver");
        Path config = dir.resolve("pgstrata.conf");
        Files.writeString(config, "[enc]\nrepo = '" + repo + "'\ncipher-pass = 'a new passphrase'\n");
        Files.setPosixFilePermissions(config, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Path viaStanza = dir.resolve("via-stanza");
        // The lean wal get path (restore_command's), with nothing in the environment.
        ok(cli(Map.of(), "--config", config.toString(), "--stanza", "enc", "wal", "get", segment, viaStanza.toString()));
        Path viaEnv = dir.resolve("via-env");
        ok(cli(Map.of(CipherPass.ENV, "a new passphrase"), "wal", "get", "--repo", repo.toString(), segment, viaEnv.toString()));
        assertThat(Files.readAllBytes(viaStanza)).isEqualTo(Files.readAllBytes(viaEnv)).isNotEmpty();
        Object[] wrong = cli(Map.of(CipherPass.ENV, PASS), "wal", "get", "--repo", repo.toString(), segment, dir.resolve("never").toString());
        assertThat((int) wrong[0]).as("the environment beats the stanza; a wrong passphrase stops recovery").isEqualTo(128);
    }

    @Test
    @Order(8)
    void pointInTimeRestore_andExpire_workOnTheEncryptedRepository() throws Exception {
        Map<String, String> pass = Map.of(CipherPass.ENV, "a new passphrase"); // rotated above
        // archive_command has failed since the rotation (the server's environment has the old passphrase): as a DBA would, restart it with the new one.
        source.stop();
        source.start(null, pass);
        PgSupport.sql(source, "INSERT INTO \"" + TABLE + "\" SELECT i, '" + MARKER + " pitr ' || i FROM generate_series(3001, 3100) i");
        ContentChecksum.Result atPoint = proofOfSource();
        PgSupport.sql(source, "SELECT pg_create_restore_point('enc-point')");
        PgSupport.sql(source, "DELETE FROM \"" + TABLE + "\" WHERE id > 3000", "SELECT pg_switch_wal()");
        waitForArchive();
        // restore_command, in the restored server, finds the passphrase in the environment the restore started it with.
        Path target = dir.resolve("pitr");
        int p = LocalCluster.freePort();
        ok(cli(pass, "restore", "-q", "--repo", repo.toString(), "--target-name", "enc-point", "--to", target.toString(), "--start",
                "--port", String.valueOf(p)));
        LocalCluster restored = pg.trackRestored(target, MAJOR);
        try (Connection c = Db.connect(PgSupport.conn(restored))) {
            assertThat(ContentChecksum.compute(c)).isEqualTo(atPoint);
            assertThat(Amcheck.check(c)).isEmpty();
        }
        restored.stop();
        // A drill to the same point: restore_command in its copy reads the encrypted archive with the drill's passphrase.
        assertThat(ok(cli(pass, "drill", "--repo", repo.toString(), "--target-name", "enc-point", "--scratch-dir", dir.resolve("drills").toString())))
                .contains("PASSED");
        assertThat(ok(cli(pass, "list", "--json", "--repo", repo.toString()))).contains("\"lastDrill\"");
        // advise reads the encrypted repository's newest backup to measure the change since.
        String advice = ok(cli(pass, "advise", "--repo", repo.toString(), "--pgdata", source.pgdata().toString(), "--port", port()));
        assertThat(advice).contains("incr");

        String expire = ok(cli(pass, "expire", "--repo", repo.toString(), "--retain-full", "1", "--json"));
        assertThat(new ObjectMapper().readTree(expire.substring(expire.indexOf('{'))).get("removed")).isNotEmpty();
        ok(cli(pass, "verify", "--repo", repo.toString()));
        assertThat(ok(cli(pass, "list", "--repo", repo.toString()))).contains(physical.get(physical.size() - 1));
    }

    /**
     * compare with the passphrase and encrypt = true only in a configuration file: its own clusters'
     * archive_command and restore_command (started by compare and by restore) get the passphrase
     * from the command that starts them; every repository it makes is encrypted, and every restore
     * is proven.
     */
    @Test
    @Order(9)
    void compare_withEncryptionFromTheConfigurationFile_provesEveryStrategy() throws Exception {
        Path config = dir.resolve("compare.conf");
        Files.writeString(config, "[global]\nencrypt = true\ncipher-pass = 'compare passphrase'\n");
        Files.setPosixFilePermissions(config, java.nio.file.attribute.PosixFilePermissions.fromString("rw-------"));
        Path repos = dir.resolve("compare-repos");
        String out = ok(cli(Map.of(), "--config", config.toString(), "compare", "--rows", "3000", "--cycles", "1", "--strategies",
                "full,incr,pitr", "--pg-version", String.valueOf(MAJOR), "--work-dir", dir.resolve("compare-work").toString(), "--repo",
                repos.toString(), "--keep", "--json"));
        JsonNode json = new ObjectMapper().readTree(out.substring(out.indexOf('{')));
        assertThat(json.get("strategies")).hasSize(3);
        for (JsonNode row : json.get("strategies")) {
            assertThat(row.get("verified").asBoolean()).as(row.toString()).isTrue();
        }
        List<Path> infos;
        try (Stream<Path> s = Files.walk(repos)) {
            infos = s.filter(p -> p.getFileName().toString().equals("repo.json")).toList();
        }
        assertThat(infos).hasSize(3);
        for (Path info : infos) {
            assertThat(Files.readString(info)).as(info.toString()).contains("\"encryption\"");
        }
    }
}
