package org.pgstrata.cli;

import picocli.CommandLine.Command;

@Command(name = "pgstrata", mixinStandardHelpOptions = true, versionProvider = VersionProvider.class,
        description = {
            "Back up and restore PostgreSQL page by page, and prove every restore by its content.",
            "",
            "Quick start: 'pgstrata compare' runs every strategy on a throwaway embedded cluster",
            "and prints what each one costs."
        },
        footer = {"", "Exit codes: 0 ok, 2 usage, 10 target not empty, 11 repository of another cluster,",
            "12 not a data directory, 13 data directory of another cluster, 14 repository locked (or",
            "the lock lost), 15 corrupt or missing object or manifest, 16 connection failed, 17 not",
            "found, 18 binaries missing, 19 server failed, 20 unsafe server setting, 21 restore not",
            "proven, 22 I/O error, 23 conflicting WAL push, 24 target unreachable, 25 WAL missing,",
            "26 reference backup not on the cluster's history, 27 broken backup chain, 28 backup has",
            "dependants, 29 pg_dump or pg_restore too old, 30 pg_dump or pg_restore failed, 31 S3 store",
            "without conditional writes, 32 a server runs on the data directory (restore --delta),",
            "33 authentication failed (user, password or pg_hba.conf), 34 tablespace of another cluster,",
            "35 WAL removed by expire, 36 a database moved or dropped while a backup copied it,",
            "40 archive_command not archiving into the repository, 41 archive_command failing (both: check),",
            "45 permission denied, 46 out of memory,",
            "47 no passphrase for an encrypted repository, 48 wrong passphrase, 49 drill failed,",
            "70 internal error, 130 or 143 interrupted (Ctrl-C or SIGTERM). status exits 0, 1, 2 or 3 (Nagios: ok,",
            "warning, critical, unknown); wal get (restore_command): 1 not in the archive, 126 damaged, 128 any other failure."})
public final class RootCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    // Read before parsing (Cli.commandLine), declared here so that every subcommand accepts and documents them.
    @picocli.CommandLine.Option(names = "--stanza", paramLabel = "NAME", scope = picocli.CommandLine.ScopeType.INHERIT,
            description = "Take defaults for options not given from section [NAME] of the configuration file, then from its "
                    + "[global] section (the environment still beats the file).")
    String stanza;

    @picocli.CommandLine.Option(names = "--config", paramLabel = "FILE", scope = picocli.CommandLine.ScopeType.INHERIT,
            description = "Configuration file (default: PGSTRATA_CONFIG, else /etc/pgstrata/pgstrata.conf when it exists). TOML: "
                    + "[global] and one [NAME] per stanza; keys are long option names (repo, pgdata, port, s3-endpoint, "
                    + "retain-full ...), strings in double quotes.")
    String config;

    /** The configuration file these arguments selected (Cli.commandLine). */
    ConfigFile configFile = ConfigFile.none();

    /** Why that file could not be used, for status, which reports it as UNKNOWN itself; null when it could. */
    org.pgstrata.api.PgstrataException configProblem;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
