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
            "33 authentication failed (user, password or pg_hba.conf), 45 permission denied, 70 internal error."})
public final class RootCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }
}
