package org.pgstrata.cli;

import java.nio.file.Path;
import org.pgstrata.db.LocalCluster;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "cluster", description = "Create, start, stop and inspect a local PostgreSQL cluster.",
        subcommands = {ClusterCommand.Init.class, ClusterCommand.Start.class, ClusterCommand.Stop.class, ClusterCommand.Status.class},
        mixinStandardHelpOptions = true)
final class ClusterCommand implements Runnable {
    @picocli.CommandLine.Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        spec.commandLine().usage(spec.commandLine().getOut());
    }

    @Command(name = "init", description = {
        "Create a cluster ready for online backups: data checksums on, wal_level=replica,",
        "listening on 127.0.0.1 only, trust authentication for this machine only, superuser postgres.",
        "Uses --pg-bin, else PGSTRATA_PG_BIN, else the bundled binaries of --pg-version.",
        "As root, the server runs unprivileged in a user namespace (unshare -U)."})
    static final class Init extends BaseCommand {
        @Option(names = {"-D", "--pgdata"}, paramLabel = "DIR", description = "Data directory to create (must be absent or empty; default: PGDATA).")
        Path pgdata;

        @Option(names = {"-p", "--port"}, paramLabel = "PORT", description = "Port to listen on, 1 to 65535 (default: PGPORT, else the "
                + "stanza's port, else 5432).")
        Integer port;

        @Option(names = "--pg-version", paramLabel = "MAJOR", description = "Bundled PostgreSQL major version: 15, 16, 17 or 18 (default: 17).")
        Integer pgVersion;

        @Option(names = "--pg-bin", paramLabel = "DIR", description = "Directory with initdb, pg_ctl and postgres to use instead.")
        Path pgBin;

        @Option(names = "--start", description = "Start the server after creating it.")
        boolean start;

        @Option(names = "--archive-to", paramLabel = "REPO", description = "Archive WAL into this repository (created for the cluster): "
                + "sets archive_mode and archive_command. A directory or s3://BUCKET/PREFIX (with the --s3-* options).")
        String archiveTo;

        @Mixin
        S3Options s3 = new S3Options();

        /**
         * --port, else PGPORT (as the server itself takes it), else the stanza's port, else 5432;
         * refused unless 1 to 65535, before anything is created. (With PGPORT set, the stanza's port
         * is no default: the environment beats the file, and this option reads PGPORT itself.)
         */
        private int port() {
            String text;
            String source;
            if (port != null) {
                text = port.toString();
                source = spec.commandLine().getParseResult().hasMatchedOption("--port") ? "--port"
                        : "port in " + config().path() + (config().stanza() != null ? " [" + config().stanza() + "]" : "");
            } else if (System.getenv("PGPORT") != null && !System.getenv("PGPORT").isBlank()) {
                text = System.getenv("PGPORT").trim();
                source = "PGPORT";
            } else {
                return 5432;
            }
            int p;
            try {
                p = Integer.parseInt(text);
            } catch (NumberFormatException e) {
                p = -1;
            }
            if (p < 1 || p > 65535) {
                throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.USAGE, "invalid port " + text + " (" + source + ")",
                        "use a port between 1 and 65535; nothing was created");
            }
            return p;
        }

        @Override
        int execute() {
            int port = port();
            LocalCluster c = facade().clusterInit(DataDirectory.required(pgdata, System.getenv()), port, pgVersion, pgBin, s3.location(archiveTo));
            out().println("initialised PostgreSQL " + c.binaries().version() + " cluster in " + c.pgdata() + " (port " + port + ")");
            if (start) {
                c.start(null, org.pgstrata.api.CipherPass.environment()); // an encrypted --archive-to's passphrase, for archive_command
                out().println("started on 127.0.0.1:" + port);
            }
            return 0;
        }
    }

    abstract static class ExistingCluster extends BaseCommand {
        @Option(names = {"-D", "--pgdata"}, paramLabel = "DIR", description = "Data directory of the cluster (default: PGDATA).")
        Path pgdata;

        @Option(names = "--pg-bin", paramLabel = "DIR", description = "Binaries to use (default: PGSTRATA_PG_BIN, else bundled of the cluster's major).")
        Path pgBin;

        LocalCluster cluster() {
            return facade().cluster(DataDirectory.required(pgdata, System.getenv()), pgBin);
        }
    }

    @Command(name = "start", description = "Start the cluster (postgres itself, no shell) and wait until it accepts connections.")
    static final class Start extends ExistingCluster {
        @Option(names = {"-p", "--port"}, paramLabel = "PORT", converter = Port.class, description = "Listen on this port instead of the configured one (1 to 65535).")
        Integer port;

        @Option(names = "--start-timeout", defaultValue = "300", paramLabel = "SECONDS",
                description = "Give up when the starting server shows no progress (server log, WAL replayed) for this long; "
                        + "0 waits as long as it lives (default: ${DEFAULT-VALUE}).")
        int startTimeout;

        @Override
        int execute() {
            if (startTimeout < 0) {
                throw new org.pgstrata.api.PgstrataException(org.pgstrata.api.ErrorCode.USAGE, "--start-timeout must be 0 or more seconds, not "
                        + startTimeout, "0 waits as long as the server lives; the default is 300");
            }
            LocalCluster c = cluster();
            c.start(port, org.pgstrata.api.CipherPass.environment(), java.time.Duration.ofSeconds(startTimeout));
            out().println("started " + c.pgdata() + " on 127.0.0.1:" + c.status().map(LocalCluster.Status::port).orElse(c.configuredPort()));
            return 0;
        }
    }

    @Command(name = "stop", description = "Stop the cluster (fast shutdown: active sessions are ended, then a checkpoint).")
    static final class Stop extends ExistingCluster {
        @Override
        int execute() {
            LocalCluster c = cluster();
            boolean was = c.isRunning();
            c.stop();
            out().println(was ? "stopped " + c.pgdata() : c.pgdata() + " was not running");
            return 0;
        }
    }

    @Command(name = "status", description = "Say whether the cluster runs, with its pid and port. Exit code 0 running, 3 stopped.")
    static final class Status extends ExistingCluster {
        @Option(names = "--json", description = "Print {\"pgdata\", \"running\", \"pid\", \"port\", \"pgMajor\"}.")
        boolean json;

        @Override
        int execute() {
            LocalCluster c = cluster();
            var st = c.status();
            if (json) {
                var m = new java.util.LinkedHashMap<String, Object>();
                m.put("pgdata", c.pgdata().toString());
                m.put("running", st.isPresent());
                m.put("pid", st.map(LocalCluster.Status::pid).orElse(null));
                m.put("port", st.map(LocalCluster.Status::port).orElse(c.configuredPort()));
                m.put("pgMajor", c.binaries().major());
                Output.json(out(), m);
            } else if (st.isPresent()) {
                out().println("running: pid " + st.get().pid() + ", port " + st.get().port() + ", PostgreSQL " + c.binaries().major() + ", " + c.pgdata());
            } else {
                out().println("stopped: " + c.pgdata() + " (PostgreSQL " + c.binaries().major() + ", port " + c.configuredPort() + ")");
            }
            return st.isPresent() ? 0 : 3;
        }
    }
}
