package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.db.LocalCluster;

/**
 * "Run as postgres": the built jar run by a non-root user. A repository root made is refused with
 * "permission denied", the path, its owner and exit 45 (never "no repository", and never the end
 * of the WAL archive for restore_command); one the user makes is its own, works, and is never
 * world-readable. Runs after {@code package} (tag "packaged"): it runs target/pgstrata.jar.
 */
@Tag("packaged")
class RunAsOtherUserTest extends PgTest {

    @Test
    void repositoryOfRoot_isRefusedWithPermissionDenied_andTheUsersOwnRepositoryWorksAndIsNotWorldReadable() throws Exception {
        try (OtherUser user = OtherUser.ensure()) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path jar = copyOfTheBuild();

            // Root's repository, with a backup and an archived segment.
            LocalCluster source = pg.start("source", 15);
            Path rootRepo = dir.resolve("root-repo");
            CliBackups.backup(rootRepo, source, "full");
            source.stop();
            String segment = firstSegment(source.pgdata());
            CliBackups.ok("wal", "push", "--repo", rootRepo.toString(), source.pgdata().resolve("pg_wal").resolve(segment).toString());

            for (String command : List.of("list", "verify", "info")) {
                OtherUser.Result r = user.run(dir, java(jar, command, "--repo", rootRepo.toString()));
                assertThat(r.exit()).as("%s as %s: %s", command, OtherUser.NAME, r.output()).isEqualTo(ErrorCode.PERMISSION_DENIED.exitCode());
                assertThat(r.output().strip()).as(command).startsWith("pgstrata: error: permission denied: user " + OtherUser.NAME
                        + " cannot access " + rootRepo).contains("owned by root:root, mode 07").contains("hint: run the command as root")
                        .doesNotContain("\n");
            }
            // restore_command must stop recovery (exit above 125), not take the refusal for the end of the archive.
            OtherUser.Result get = user.run(dir, java(jar, "wal", "get", "--repo", rootRepo.toString(), segment, dir.resolve("x").toString()));
            assertThat(get.exit()).as(get.output()).isEqualTo(128);
            assertThat(get.output()).contains("permission denied: user " + OtherUser.NAME);

            // The user's own repository, for its own copy of the cluster.
            Path own = dir.resolve("own");
            Files.createDirectory(own);
            Path pgdata = own.resolve("pgdata");
            assertThat(OtherUser.exec(List.of("cp", "-a", source.pgdata().toString(), pgdata.toString())).exit()).isZero();
            user.own(own);
            Path repo = own.resolve("repo");
            expectOk(user, java(jar, "repo", "init", "--repo", repo.toString(), "--pgdata", pgdata.toString()));
            expectOk(user, java(jar, "wal", "push", "--repo", repo.toString(), pgdata.resolve("pg_wal").resolve(segment).toString()));
            expectOk(user, java(jar, "wal", "get", "--repo", repo.toString(), segment, own.resolve("fetched").toString()));
            assertThat(Files.readAllBytes(own.resolve("fetched"))).isEqualTo(Files.readAllBytes(pgdata.resolve("pg_wal").resolve(segment)));
            assertThat(expectOk(user, java(jar, "list", "--repo", repo.toString()))).contains("no backups");
            expectOk(user, java(jar, "verify", "--repo", repo.toString()));

            List<String> modes = new ArrayList<>();
            try (Stream<Path> walk = Files.walk(repo)) {
                for (Path p : walk.toList()) {
                    Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
                    modes.add(PosixFilePermissions.toString(perms) + " " + repo.relativize(p));
                    assertThat(Files.getOwner(p).getName()).as(p.toString()).isEqualTo(OtherUser.NAME);
                }
            }
            assertThat(modes).as("group-readable at most, never world-readable").hasSizeGreaterThan(3)
                    .allMatch(m -> m.substring(3, 9).matches("[r-]-[x-]---"), "mode rwxr-x--- or rw-r----- (or stricter)")
                    .allMatch(m -> m.startsWith("rw"));
        }
    }

    /**
     * A repository the user may read but not write (root's, opened to others): verify passes, as it writes nothing (it
     * wrote a probe and said "not checked", exit 22); a restore into a directory the user may not write is permission
     * denied naming that directory, and its hint speaks of that directory (it told the user to chown the repository);
     * into the user's own directory the restore works.
     */
    @Test
    void readableRepository_verifiesAndRestores_andADeniedTargetIsNamedAsSuch() throws Exception {
        try (OtherUser user = OtherUser.ensure()) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path jar = copyOfTheBuild();
            LocalCluster source = pg.start("source", 15);
            Path repo = dir.resolve("root-repo");
            CliBackups.backup(repo, source, "full");
            source.stop();
            assertThat(OtherUser.exec(List.of("chmod", "-R", "o+rX", repo.toString())).exit()).isZero();

            expectOk(user, java(jar, "verify", "--repo", repo.toString()));

            Path roots = dir.resolve("roots");
            Files.createDirectories(roots); // root's, 755: the user may look but not create
            OtherUser.Result r = user.run(dir, java(jar, "restore", "-q", "--repo", repo.toString(), "--to", roots.resolve("copy").toString()));
            assertThat(r.exit()).as(r.output()).isEqualTo(ErrorCode.PERMISSION_DENIED.exitCode());
            assertThat(r.output().strip()).startsWith("pgstrata: error: permission denied: user " + OtherUser.NAME + " cannot access "
                    + roots.resolve("copy")).contains(roots + " is owned by root:root").contains("hint: ").contains(roots.toString())
                    .doesNotContain("REPOSITORY").doesNotContain("\n");

            Path own = dir.resolve("own");
            Files.createDirectory(own);
            user.own(own);
            expectOk(user, java(jar, "restore", "-q", "--repo", repo.toString(), "--to", own.resolve("copy").toString()));
            assertThat(own.resolve("copy").resolve("PG_VERSION")).isRegularFile();
        }
    }

    /** cluster init where the user may not create the data directory: exit 45 naming the directory, its owner and the user, as every command says it. */
    @Test
    void clusterInit_whereTheUserMayNotCreate_isPermissionDenied() throws Exception {
        try (OtherUser user = OtherUser.ensure()) {
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Path jar = copyOfTheBuild();
            Path pgdata = dir.resolve("roots").resolve("pgdata");
            Files.createDirectories(pgdata.getParent()); // root's, 755: the user may look but not create
            OtherUser.Result r = user.run(dir, java(jar, "cluster", "init", "-q", "--pg-version", "15", "--pgdata", pgdata.toString(), "--port",
                    Integer.toString(LocalCluster.freePort())));
            assertThat(r.exit()).as(r.output()).isEqualTo(ErrorCode.PERMISSION_DENIED.exitCode());
            assertThat(r.output().strip()).startsWith("pgstrata: error: permission denied: user " + OtherUser.NAME + " cannot access ")
                    .contains(pgdata.getParent() + " is owned by root:root").contains("hint: ").doesNotContain("\n");
            assertThat(pgdata).doesNotExist();
        }
    }

    /**
     * A configuration file the user may not read (root's, 600: the usual mistake before chgrp postgres) is permission denied,
     * exit 45 with its owner and mode, as every other file is: it was exit 22, an I/O error, without either.
     */
    @Test
    void configurationFileTheUserMayNotRead_isPermissionDenied() throws Exception {
        try (OtherUser user = OtherUser.ensure()) {
            Path jar = copyOfTheBuild();
            Path conf = rootsOnly("pgstrata.conf", "[main]\nrepo = \"" + dir.resolve("repo") + "\"\n");
            OtherUser.Result r = user.run(dir, java(jar, "--config", conf.toString(), "--stanza", "main", "list"));
            assertThat(r.exit()).as(r.output()).isEqualTo(ErrorCode.PERMISSION_DENIED.exitCode());
            assertThat(r.output().strip()).startsWith("pgstrata: error: permission denied: user " + OtherUser.NAME + " cannot read configuration file "
                    + conf).contains("owned by root:root, mode 0600").contains("hint: ").contains("chmod 640").doesNotContain("\n");
            // restore_command still stops recovery on it.
            OtherUser.Result get = user.run(dir, java(jar, "wal", "get", "--config", conf.toString(), "--stanza", "main", "000000010000000000000001",
                    dir.resolve("x").toString()));
            assertThat(get.exit()).as(get.output()).isEqualTo(128);
        }
    }

    /**
     * A passphrase file the user may not read (root's, 600) is permission denied, exit 45 with its owner and mode, as a
     * configuration file is: it was exit 47, "no passphrase was given", for a file that was given.
     */
    @Test
    void passphraseFileTheUserMayNotRead_isPermissionDenied() throws Exception {
        try (OtherUser user = OtherUser.ensure()) {
            Path jar = copyOfTheBuild();
            Path pass = rootsOnly("pass", "a passphrase\n");
            Path repo = dir.resolve("repo");
            OtherUser.Result r = user.run(dir, java(jar, "list", "--repo", repo.toString(), "--cipher-pass-file", pass.toString()));
            assertThat(r.exit()).as(r.output()).isEqualTo(ErrorCode.PERMISSION_DENIED.exitCode());
            assertThat(r.output().strip()).startsWith("pgstrata: error: permission denied: user " + OtherUser.NAME
                    + " cannot read the passphrase file " + pass).contains("owned by root:root, mode 0600").contains("hint: ").doesNotContain("\n");
        }
    }

    /**
     * A file of root's, mode 600, named {@code name} in the test's directory (made 755 first, so that the other user may
     * look into it, and so that what bars the way is the file's own mode).
     */
    private Path rootsOnly(String name, String content) throws Exception {
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path file = dir.resolve(name);
        Files.writeString(file, content);
        Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        return file;
    }

    /** target/pgstrata.jar and target/lib, copied where the other user can read them (the checkout may be under /root). */
    private Path copyOfTheBuild() throws Exception {
        Path target = Path.of("target");
        assertThat(target.resolve("pgstrata.jar")).as("run after 'mvn package'").isRegularFile();
        Path copy = dir.resolve("build");
        Files.createDirectories(copy.resolve("lib"));
        Files.copy(target.resolve("pgstrata.jar"), copy.resolve("pgstrata.jar"));
        try (Stream<Path> libs = Files.list(target.resolve("lib"))) {
            for (Path lib : libs.toList()) {
                Files.copy(lib, copy.resolve("lib").resolve(lib.getFileName()));
            }
        }
        assertThat(OtherUser.exec(List.of("chmod", "-R", "a+rX", copy.toString())).exit()).isZero();
        return copy.resolve("pgstrata.jar");
    }

    private static String[] java(Path jar, String... args) {
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar", jar.toString()));
        cmd.addAll(List.of(args));
        return cmd.toArray(String[]::new);
    }

    private String expectOk(OtherUser user, String... command) {
        OtherUser.Result r = user.run(dir, command);
        assertThat(r.exit()).as("%s as %s: %s", String.join(" ", command), OtherUser.NAME, r.output()).isZero();
        return r.output();
    }

    private static String firstSegment(Path pgdata) throws Exception {
        try (Stream<Path> s = Files.list(pgdata.resolve("pg_wal"))) {
            return s.map(p -> p.getFileName().toString()).filter(n -> n.matches("[0-9A-F]{24}")).sorted().findFirst().orElseThrow();
        }
    }
}
