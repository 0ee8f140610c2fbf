package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.wal.WalSetup;
import picocli.CommandLine;
import picocli.CommandLine.Model.OptionSpec;

/** pgstrata.conf: precedence (command line > environment > stanza > [global]) and its one-line errors. */
class ConfigFileTest {
    @TempDir
    Path dir;

    private Path write(String text) throws IOException {
        Path f = dir.resolve("pgstrata.conf");
        Files.writeString(f, text);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r-----"));
        return f;
    }

    private static final String CONF = """
            # shared by every stanza
            [global]
            repo = "/srv/repo-global"
            compress = "lz4"
            jobs = 3
            port = 6000

            [main]
            pgdata = "/var/lib/postgresql/15/main"
            port = 5433
            host = "/var/run/postgresql"
            compress-level = 9
            checkpoint = "spread"

            ["with.dot"]
            repo = "/srv/dotted"
            """;

    /** The backup command as parsed for {@code args}, with {@code env}. */
    private BackupCommand backup(Map<String, String> env, String... args) {
        ConfigFile config = Cli.config(args, env, dir.resolve("absent.conf"));
        CommandLine cl = Cli.commandLine(args, config, env);
        CommandLine.ParseResult pr = cl.parseArgs(args);
        return (BackupCommand) pr.subcommand().commandSpec().userObject();
    }

    @Test
    void stanzaBeatsGlobal_andGlobalFillsTheRest() throws IOException {
        Path f = write(CONF);
        BackupCommand b = backup(Map.of(), "backup", "--stanza", "main", "--config", f.toString());
        assertThat(b.pgdata).isEqualTo(Path.of("/var/lib/postgresql/15/main"));
        assertThat(b.conn.port).isEqualTo(5433);
        assertThat(b.conn.host).isEqualTo("/var/run/postgresql");
        assertThat(b.repo.location()).isEqualTo("/srv/repo-global");
        assertThat(b.compress).isEqualTo("lz4");
        assertThat(b.jobs).isEqualTo(3);
        assertThat(b.compressLevel).isEqualTo(9);
        assertThat(b.checkpoint).isEqualTo("spread");
        assertThat(b.type).isEqualTo("full"); // not a file key: the option's own default
    }

    @Test
    void withoutStanza_globalAlone() throws IOException {
        Path f = write(CONF);
        BackupCommand b = backup(Map.of(), "backup", "--config", f.toString());
        assertThat(b.conn.port).isEqualTo(6000);
        assertThat(b.pgdata).isNull();
    }

    @Test
    void environmentBeatsFile_commandLineBeatsBoth() throws IOException {
        Path f = write(CONF);
        Map<String, String> env = Map.of("PGPORT", "7000", "PGDATA", "/env/pgdata", "PGHOST", "envhost", "PGSTRATA_CONFIG", f.toString());
        BackupCommand b = backup(env, "backup", "--stanza", "main");
        // the file gives way: the code's own fallback reads PGPORT and PGHOST
        assertThat(b.conn.port).isNull();
        assertThat(b.conn.host).isNull();
        assertThat(b.conn.resolve(env, (Path) null).port()).isEqualTo(7000);
        assertThat(b.conn.resolve(env, (Path) null).host()).isEqualTo("envhost");
        assertThat(b.pgdata).isEqualTo(Path.of("/env/pgdata"));

        b = backup(env, "backup", "--stanza", "main", "--port", "8000", "--pgdata", "/cli/pgdata", "--compress", "none");
        assertThat(b.conn.resolve(env, (Path) null).port()).isEqualTo(8000);
        assertThat(b.pgdata).isEqualTo(Path.of("/cli/pgdata"));
        assertThat(b.compress).isEqualTo("none");
    }

    @Test
    void rootPositionAndEqualsForm_selectTheSameStanza() throws IOException {
        Path f = write(CONF);
        BackupCommand b = backup(Map.of(), "--config=" + f, "--stanza=with.dot", "backup");
        assertThat(b.repo.location()).isEqualTo("/srv/dotted");
        assertThat(b.conn.port).isEqualTo(6000);
    }

    @Test
    void requiredOption_satisfiedByTheStanza() throws IOException {
        Path f = write(CONF);
        String[] args = {"wal", "setup", "--stanza", "main", "--config", f.toString()};
        CommandLine cl = Cli.commandLine(args, Cli.config(args, Map.of(), dir.resolve("absent.conf")), Map.of());
        var setup = (WalCommand.Setup) cl.parseArgs(args).subcommand().subcommand().commandSpec().userObject();
        assertThat(setup.pgdata).isEqualTo(Path.of("/var/lib/postgresql/15/main"));
    }

    private static PgstrataException error(Path f, String stanza, Map<String, String> env) {
        try {
            ConfigFile.load(f == null ? null : f.toString(), stanza, env, Path.of("/nonexistent/pgstrata.conf"));
        } catch (PgstrataException e) {
            return e;
        }
        throw new AssertionError("no error");
    }

    /** Jackson reports a key set twice at the next token (here two lines on) and without naming it. */
    @Test
    void keySetTwice_namesItsLineAndTheFirst() throws IOException {
        Path f = write("[global]\nrepo = \"/a\"\nrepo = \"/b\"\n\n[main]\nport = 5432\n");
        PgstrataException e = error(f, "main", Map.of());
        assertThat(e.code()).isEqualTo(ErrorCode.USAGE);
        assertThat(e.getMessage()).isEqualTo(f + ":3: 'repo' in [global] is set again (first on line 2)");
        Path same = write("[main]\nport = 1\n[other]\nport = 2\n'port' = 3\n");
        assertThat(error(same, "main", Map.of()).getMessage()).isEqualTo(same + ":5: 'port' in [other] is set again (first on line 4)");
    }

    @Test
    void syntaxError_namesFileAndLine() throws IOException {
        Path f = write("[global]\nrepo = \"/a\"\n\n[main]\nport = 5432\nrepo = /unquoted/secret\n");
        PgstrataException e = error(f, "main", Map.of());
        assertThat(e.code()).isEqualTo(ErrorCode.USAGE);
        assertThat(e.getMessage()).isEqualTo(f + ":6: not valid TOML: Unknown token").doesNotContain("secret");
        assertThat(e.oneLine()).contains("hint: values are TOML: strings in double quotes");
    }

    @Test
    void unknownKey_namesFileLineAndTheClosestKey() throws IOException {
        Path f = write("[global]\nrepo = \"/a\"\n\n[main]\nport = 5432\nretain-ful = 2\n");
        PgstrataException e = error(f, "main", Map.of());
        assertThat(e.code()).isEqualTo(ErrorCode.USAGE);
        assertThat(e.getMessage()).isEqualTo(f + ":6: unknown key 'retain-ful' in [main] (did you mean 'retain-full'?)");
    }

    @Test
    void commandLineOnlyOption_isNotAFileKey() throws IOException {
        Path f = write("[global]\ntype = \"incr\"\n");
        assertThat(error(f, null, Map.of()).getMessage()).isEqualTo(f + ":2: unknown key 'type' in [global]");
    }

    @Test
    void keyOutsideSection_andTableValue_areRefused() throws IOException {
        Path f = write("repo = \"/a\"\n[global]\n");
        assertThat(error(f, null, Map.of()).getMessage()).isEqualTo(f + ":1: 'repo' is outside any section");
        f = write("[global]\nport = [1, 2]\n");
        assertThat(error(f, null, Map.of()).getMessage()).isEqualTo(f + ":2: 'port' in [global] must be a single value");
    }

    @Test
    void unknownStanza_listsTheKnownOnes() throws IOException {
        Path f = write(CONF);
        PgstrataException e = error(f, "mian", Map.of());
        assertThat(e.code()).isEqualTo(ErrorCode.USAGE);
        assertThat(e.getMessage()).isEqualTo("unknown stanza 'mian': " + f + " has main, with.dot");
    }

    @Test
    void namedFileMissing_isNotFound_defaultFileMissing_isNoFile() {
        Path missing = dir.resolve("nope.conf");
        PgstrataException e = error(missing, null, Map.of());
        assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND);
        assertThat(e.getMessage()).isEqualTo("configuration file " + missing + " does not exist");
        e = error(null, null, Map.of("PGSTRATA_CONFIG", missing.toString()));
        assertThat(e.oneLine()).contains("check PGSTRATA_CONFIG");
        assertThat(ConfigFile.load(null, null, Map.of(), missing).value("repo")).isNull();
        e = error(null, "main", Map.of());
        assertThat(e.getMessage()).isEqualTo("--stanza main needs a configuration file, and /nonexistent/pgstrata.conf does not exist");
    }

    /**
     * --config naming a directory (or "", a script's unset variable, read as the working directory) is a mistake in the
     * command, exit 2 with a hint: it was exit 22, an I/O error, "cannot read configuration file : Is a directory" without one.
     */
    @Test
    void namedDirectoryOrEmptyName_isAUsageError() {
        for (String named : new String[] {dir.toString(), ""}) {
            CliRun r = CliRun.withEnv(Map.of(), "--config", named, "list", "--repo", dir.resolve("repo").toString());
            assertThat(r.exitCode()).as("--config '%s': %s", named, r.err()).isEqualTo(ErrorCode.USAGE.exitCode());
            assertThat(r.errLines()).hasSize(1);
            assertThat(r.errLines().get(0)).startsWith("pgstrata: error: ").contains("--config").contains("hint: ");
        }
        CliRun r = CliRun.withEnv(Map.of("PGSTRATA_CONFIG", dir.toString()), "list", "--repo", dir.resolve("repo").toString());
        assertThat(r.exitCode()).as(r.err()).isEqualTo(ErrorCode.USAGE.exitCode());
        assertThat(r.errLines().get(0)).contains(dir + " is a directory").contains("PGSTRATA_CONFIG");
    }

    /** A file saved by a Windows editor starts with a byte order mark: it was "FILE:1: not valid TOML: Unknown token". */
    @Test
    void byteOrderMark_isNotContent() throws IOException {
        Path f = write("\uFEFF[main]\nrepo = \"/srv/bom\"\nretain-ful = 1\n");
        PgstrataException e = error(f, "main", Map.of());
        assertThat(e.getMessage()).isEqualTo(f + ":3: unknown key 'retain-ful' in [main] (did you mean 'retain-full'?)");
        write("\uFEFF[main]\nrepo = \"/srv/bom\"\n");
        assertThat(ConfigFile.load(f.toString(), "main", Map.of(), dir.resolve("absent.conf")).value("repo")).isEqualTo("/srv/bom");
    }

    @Test
    void credentials_refusedInAWorldReadableFile() throws IOException {
        Path f = write("[global]\nrepo = \"s3://bucket/p\"\ns3-key = \"AKIAEXAMPLE\"\ns3-key-secret = \"sekrit\"\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        PgstrataException e = error(f, null, Map.of());
        assertThat(e.code()).isEqualTo(ErrorCode.USAGE);
        assertThat(e.oneLine()).isEqualTo("configuration file " + f + " holds S3 credentials and every user may read it; hint: chmod o-r "
                + f + " (640 with the group of the user that runs pgstrata, or 600)").doesNotContain("sekrit").doesNotContain("AKIA");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r-----"));
        ConfigFile c = ConfigFile.load(f.toString(), null, Map.of(), f);
        assertThat(c.s3Credentials(Map.of())).containsEntry("aws.accessKeyId", "AKIAEXAMPLE").containsEntry("aws.secretAccessKey", "sekrit");
        // the environment's credentials beat the file's, as for every key
        assertThat(c.s3Credentials(Map.of("AWS_PROFILE", "ops"))).isEmpty();
    }

    /**
     * A world-readable file whose secret is an encrypted repository's passphrase was refused as
     * one that "holds S3 credentials": the user looked for s3-key lines that were not there. The
     * refusal names the secret the file holds.
     */
    @Test
    void aPassphrase_refusedInAWorldReadableFile_isNamedAsThePassphrase() throws IOException {
        Path f = write("[main]\nrepo = \"/srv/repo\"\ncipher-pass = \"sekrit\"\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        PgstrataException e = error(f, "main", Map.of());
        assertThat(e.code()).isEqualTo(ErrorCode.USAGE);
        assertThat(e.oneLine()).isEqualTo("configuration file " + f + " holds an encrypted repository's passphrase (cipher-pass) and every "
                + "user may read it; hint: chmod o-r " + f + " (640 with the group of the user that runs pgstrata, or 600)");
        Files.writeString(f, "[main]\nrepo = \"s3://b/p\"\ns3-key = \"AKIAEXAMPLE\"\ns3-key-secret = \"sekrit\"\ncipher-pass = \"sekrit\"\n");
        assertThat(error(f, "main", Map.of()).oneLine()).startsWith("configuration file " + f + " holds S3 credentials and an encrypted "
                + "repository's passphrase (cipher-pass) and every user may read it;").doesNotContain("sekrit");
    }

    /**
     * A file every user may write decides, for whoever runs pgstrata (root, postgres, the server's
     * archive_command), where backups go and which binaries run (repo, pg-bin): refused, as a
     * world-readable file with secrets is, with or without secrets in it.
     */
    @Test
    void worldWritableFile_isRefused() throws IOException {
        Path f = write("[global]\nrepo = \"/srv/repo\"\n[main]\npg-bin = \"/usr/lib/postgresql/15/bin\"\n");
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-rw-rw-"));
        PgstrataException e = error(f, "main", Map.of());
        assertThat(e.code()).isEqualTo(ErrorCode.USAGE);
        assertThat(e.oneLine()).startsWith("configuration file " + f + " may be changed by every user").contains("hint: chmod o-w " + f)
                .doesNotContain("/srv/repo");
        Path secret = Files.writeString(dir.resolve("secret.conf"), "[global]\nrepo = \"/srv/repo\"\ncipher-pass = \"sekrit\"\n");
        Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-r---w-"));
        assertThat(error(secret, null, Map.of()).oneLine()).contains("may be changed by every user").doesNotContain("sekrit");
        // the same file, writable by its owner alone, is read
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(ConfigFile.load(f.toString(), null, Map.of(), f).value("repo")).isEqualTo("/srv/repo");
        // a command says so in one line, exit 2
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-rw-rw-"));
        CliRun r = CliRun.withEnv(Map.of(), "list", "--config", f.toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.errLines()).hasSize(1);
    }

    @Test
    void credentials_areNeverOptionDefaults() throws IOException {
        Path f = write("[global]\nrepo = \"/r\"\ns3-key = \"AKIAEXAMPLE\"\ns3-key-secret = \"sekrit\"\n");
        BackupCommand b = backup(Map.of(), "backup", "--config", f.toString());
        assertThat(b.repo.location()).isEqualTo("/r");
    }

    /** A bad value in the file is refused in one line that names the file and the stanza, not only an option never typed. */
    @Test
    void badValueFromTheFile_namesTheFile() throws IOException {
        Path f = write("[global]\nrepo = \"/srv/repo\"\n[main]\njobs = 0\n");
        CliRun r = CliRun.withEnv(Map.of(), "backup", "--config", f.toString(), "--stanza", "main");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.errLines()).hasSize(1);
        assertThat(r.errLines().get(0)).startsWith("pgstrata: error: Invalid value for option '--jobs'").contains("(jobs from " + f + " [main])");
        // the same value typed on the command line is the command line's
        r = CliRun.withEnv(Map.of(), "backup", "--config", f.toString(), "--stanza", "main", "--jobs", "0");
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.errLines().get(0)).doesNotContain(f.toString());
    }

    @Test
    void cli_printsOneLineError_forABadFile() throws IOException {
        Path f = write("[global]\nrepo = \"/a\"\nreop = \"/b\"\n");
        CliRun r = CliRun.withEnv(Map.of(), "list", "--config", f.toString());
        assertThat(r.exitCode()).isEqualTo(2);
        assertThat(r.errLines()).containsExactly("pgstrata: error: " + f + ":3: unknown key 'reop' in [global] (did you mean 'repo'?); hint: "
                + "the keys are the long option names that a file may set: " + String.join(", ", ConfigFile.KEYS.keySet()));
    }

    @Test
    void everyFileKey_isAnOptionOfSomeCommand_orACredential() {
        Set<String> options = new HashSet<>();
        collect(Cli.commandLine(), options);
        for (String key : ConfigFile.KEYS.keySet()) {
            if (!ConfigFile.SECRETS.contains(key)) {
                assertThat(options).as("option --" + key).contains("--" + key);
            }
        }
        assertThat(options).contains("--stanza", "--config");
    }

    private static void collect(CommandLine cl, Set<String> options) {
        for (OptionSpec o : cl.getCommandSpec().options()) {
            options.add(o.longestName());
        }
        cl.getSubcommands().values().forEach(s -> collect(s, options));
    }

    @Test
    void walSetup_namesTheStanza_notTheRepository() throws IOException {
        Path f = write("[global]\nrepo = \"" + dir.resolve("repo") + "\"\n[main]\npgdata = \"/x\"\n");
        CliRun r = CliRun.withEnv(Map.of(), "wal", "setup", "--stanza", "main", "--config", f.toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        String expected = WalSetup.confLines(dir.resolve("repo").toString(), java.util.List.of("--config", f.toString(), "--stanza", "main"));
        assertThat(r.out()).isEqualTo(expected).contains(" wal push --config " + f + " --stanza main %p;").doesNotContain("--repo");
        // a repository given on the command line is named as before
        r = CliRun.withEnv(Map.of(), "wal", "setup", "--stanza", "main", "--config", f.toString(), "--repo", dir.resolve("other").toString());
        assertThat(r.out()).contains(" wal push --repo " + dir.resolve("other") + " %p;").doesNotContain("--stanza");
    }

    @Test
    void everySubcommand_acceptsStanzaAndConfig() throws IOException {
        Path f = write(CONF);
        for (String[] cmd : new String[][] {{"list"}, {"verify"}, {"wal", "push", "x"}, {"expire"}, {"info"}, {"repo", "init"}}) {
            String[] args = java.util.stream.Stream.concat(java.util.Arrays.stream(cmd), java.util.stream.Stream.of("--stanza", "main",
                    "--config", f.toString())).toArray(String[]::new);
            CommandLine cl = Cli.commandLine(args, Cli.config(args, new HashMap<>(), f), Map.of());
            cl.parseArgs(args); // throws on an unknown option
        }
    }

    @Test
    void leanWal_readsTheStanza_belowTheEnvironment_inEitherPosition() throws IOException {
        Path f = write(CONF);
        assertThat(LeanWal.location(new String[] {"--config", f.toString(), "--stanza", "with.dot", "wal", "push", "x"}, Map.of()))
                .isEqualTo("/srv/dotted");
        assertThat(LeanWal.location(new String[] {"wal", "push", "--stanza", "main", "--config", f.toString(), "x"}, Map.of()))
                .isEqualTo("/srv/repo-global");
        assertThat(LeanWal.location(new String[] {"wal", "push", "--stanza", "main", "--config", f.toString(), "x"},
                Map.of("PGSTRATA_REPO", "/env/repo"))).isEqualTo("/env/repo");
        assertThat(LeanWal.location(new String[] {"wal", "get", "--stanza", "main", "--config", f.toString(), "--repo", "/cli", "a", "b"},
                Map.of("PGSTRATA_REPO", "/env/repo"))).isEqualTo("/cli");
    }

    @Test
    void leanWalGet_badConfiguration_exits128_soThatRecoveryStops() {
        String[] args = {"wal", "get", "--config", dir.resolve("missing.conf").toString(), "--stanza", "main", "000000010000000000000001", "x"};
        java.io.PrintStream old = System.err;
        var buf = new java.io.ByteArrayOutputStream();
        System.setErr(new java.io.PrintStream(buf, true));
        try {
            assertThat(LeanWal.handles(args)).isTrue();
            assertThat(LeanWal.run(args)).isEqualTo(128);
        } finally {
            System.setErr(old);
        }
        assertThat(buf.toString()).isEqualTo("pgstrata: error: configuration file " + dir.resolve("missing.conf")
                + " does not exist; hint: check --config" + System.lineSeparator());
    }
}
