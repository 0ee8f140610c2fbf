package org.pgstrata.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.pgstrata.api.Compression;
import org.pgstrata.api.OneLine;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.postgres.TablespaceCreations;
import org.pgstrata.wal.WalPush;
import org.pgstrata.storage.s3.S3Location;
import org.pgstrata.wal.WalGet;

/**
 * {@code [--stanza NAME] [--config FILE] wal push [--repo REPO] [S3 options] [--no-batch] [--compress ALGO] [-v] PATH} and
 * {@code wal get [--repo REPO] [S3 options] [-v] NAME PATH}, parsed by hand. Anything unusual (--help, an unknown
 * option) falls back to the full command line, which explains itself.
 */
final class LeanWal {
    /** Exit code of {@code wal get} when the archive does not have the file: recovery's end of archive. */
    static final int NOT_IN_ARCHIVE = 1;
    /**
     * Exit codes of {@code wal get} for a damaged object and for any other failure. PostgreSQL
     * treats any status up to 125 as "not in the archive" and would end recovery early there,
     * silently short of its target; above 125 it stops recovery with an error instead.
     */
    static final int GET_DAMAGED = 126;
    static final int GET_FAILED = 128;

    private LeanWal() {
    }

    static boolean handles(String[] args) {
        int w = verbAt(args);
        if (w < 0 || args.length < w + 3) {
            return false;
        }
        try {
            return parse(args, System.getenv()) != null;
        } catch (PgstrataException e) {
            return true; // a configuration file problem: run() reports it with the command's own exit codes
        }
    }

    /**
     * The status to exit with: for {@code wal get} (restore_command), any failure that is not one
     * of its own statuses (a usage error, a configuration file or passphrase file it cannot use,
     * found on the full command line's path) becomes {@link #GET_FAILED}, so that recovery stops
     * instead of taking it for the end of the archive.
     */
    static int exitStatus(String[] args, int code) {
        int w = verbAt(args);
        boolean get = w >= 0 && args[w + 1].equals("get");
        return !get || code == 0 || code == NOT_IN_ARCHIVE || code == GET_DAMAGED || code == GET_FAILED ? code : GET_FAILED;
    }

    /**
     * Where "wal" stands: first, or after --stanza NAME and --config FILE (or --stanza=NAME,
     * --config=FILE) ({@code pgstrata --stanza main wal push %p}); -1 when this is no wal push or get.
     */
    private static int verbAt(String[] args) {
        int i = 0;
        while (i + 1 < args.length) {
            if (args[i].equals("--stanza") || args[i].equals("--config")) {
                i += 2;
            } else if (args[i].startsWith("--stanza=") || args[i].startsWith("--config=")) {
                i += 1;
            } else {
                break;
            }
        }
        return i + 1 < args.length && args[i].equals("wal") && (args[i + 1].equals("push") || args[i + 1].equals("get")) ? i : -1;
    }

    private record Parsed(String verb, String repo, boolean batch, Compression compression, List<String> positional,
                          java.util.Map<String, String> credentials, ConfigFile file, TablespaceCreations.Bound replayBound,
                          String replayTarget) {
    }

    /**
     * The arguments, with defaults from the configuration file below the environment, as the
     * full command line takes them (ConfigDefaults); null for anything the full command line
     * should explain. Throws for a configuration file that cannot be used.
     */
    private static Parsed parse(String[] args, java.util.Map<String, String> env) {
        int w = verbAt(args);
        String verb = args[w + 1];
        String stanza = null;
        String config = null;
        String repo = null;
        String endpoint = null;
        String region = null;
        boolean pathStyle = false;
        boolean batch = true;
        String compress = null;
        String replayUntil = null;
        boolean replayBefore = false;
        String replayTarget = null;
        List<String> positional = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i == w || i == w + 1) {
                continue;
            }
            if ((a.equals("--stanza") || a.equals("--config")) && i + 1 < args.length) {
                if (a.equals("--stanza")) {
                    stanza = args[++i];
                } else {
                    config = args[++i];
                }
            } else if (a.startsWith("--stanza=")) {
                stanza = a.substring("--stanza=".length());
            } else if (a.startsWith("--config=")) {
                config = a.substring("--config=".length());
            } else if (i < w) {
                return null;
            } else if (a.equals("--repo") && i + 1 < args.length) {
                repo = args[++i];
            } else if (a.startsWith("--repo=")) {
                repo = a.substring("--repo=".length());
            } else if (a.equals("--s3-endpoint") && i + 1 < args.length) {
                endpoint = args[++i];
            } else if (a.equals("--s3-region") && i + 1 < args.length) {
                region = args[++i];
            } else if (a.equals("--s3-path-style")) {
                pathStyle = true;
            } else if (a.equals("-v") || a.equals("--verbose")) {
                org.pgstrata.api.Verbose.enable();
            } else if (a.equals("--no-batch")) {
                batch = false;
            } else if (a.equals("--compress") && i + 1 < args.length) {
                compress = args[++i];
            } else if ((a.equals("--replay-until") || a.equals("--replay-before")) && i + 1 < args.length && verb.equals("get")
                    && replayUntil == null) {
                replayBefore = a.equals("--replay-before");
                replayUntil = args[++i];
            } else if (a.equals("--replay-target") && i + 1 < args.length && verb.equals("get")) {
                replayTarget = args[++i];
            } else if (a.startsWith("-")) {
                return null; // --help, or something the full command line should explain
            } else {
                positional.add(a);
            }
        }
        ConfigFile file = ConfigFile.load(config, stanza, env, ConfigFile.DEFAULT);
        repo = repo != null ? repo : fileDefault(file, env, "repo");
        endpoint = endpoint != null ? endpoint : fileDefault(file, env, "s3-endpoint");
        region = region != null ? region : fileDefault(file, env, "s3-region");
        pathStyle = pathStyle || Boolean.parseBoolean(fileDefault(file, env, "s3-path-style"));
        compress = compress != null ? compress : fileDefault(file, env, "compress");
        Compression compression;
        try {
            compression = compress == null ? Compression.ZSTD : Compression.parse(compress);
        } catch (PgstrataException e) {
            return null;
        }
        TablespaceCreations.Bound until;
        try {
            until = replayUntil == null ? null : new TablespaceCreations.Bound(org.pgstrata.postgres.Lsn.parse(replayUntil), replayBefore);
        } catch (PgstrataException e) {
            return null; // the full command line says what is wrong
        }
        int want = verb.equals("push") ? 1 : 2;
        if (repo == null || positional.size() != want) {
            return null;
        }
        try {
            repo = S3Location.withOptions(repo, endpoint, region, pathStyle);
        } catch (IllegalArgumentException e) {
            return null; // the full command line says what is wrong
        }
        return new Parsed(verb, repo, batch, compression, positional, file.s3Credentials(env), file, until, replayTarget);
    }

    /**
     * The repository location that {@code args} (a whole {@code wal push} or {@code wal get}
     * command line) archive into or read from with environment {@code env}; null when they name none.
     */
    static String location(String[] args, java.util.Map<String, String> env) {
        Parsed p = verbAt(args) < 0 ? null : parse(args, env);
        return p == null ? null : p.repo();
    }

    /** What the full command line's default would be: the environment's value when it has one, else the file's. */
    static String fileDefault(ConfigFile file, java.util.Map<String, String> env, String key) {
        String variable = ConfigFile.KEYS.get(key);
        String fromEnv = variable == null ? null : env.get(variable);
        if (fromEnv != null && !fromEnv.isBlank()) {
            return key.equals("repo") ? fromEnv : null;
        }
        return file.value(key);
    }

    static int run(String[] args) {
        Parsed p;
        try {
            p = parse(args, System.getenv());
            p.file().useCipherPass(System.getenv()); // an encrypted repository's passphrase: the environment's, else the stanza's
        } catch (PgstrataException e) {
            System.err.println("pgstrata: error: " + e.oneLine());
            // restore_command: any status up to 125 would end recovery early, as if the archive ended here.
            return args[verbAt(args) + 1].equals("get") ? GET_FAILED : e.code().exitCode();
        }
        p.credentials().forEach(System::setProperty);
        try {
            if (p.verb().equals("push")) {
                WalPush.Result r = WalPush.push(p.repo(), Path.of(p.positional().get(0)), p.batch(), p.compression());
                for (String w : r.warnings()) {
                    System.err.println("pgstrata: warning: " + OneLine.of(w));
                }
                if (!r.alsoPushed().isEmpty()) {
                    System.err.println("pgstrata: archived " + r.name() + " and " + r.alsoPushed().size() + " more ready file(s), up to "
                            + r.alsoPushed().get(r.alsoPushed().size() - 1));
                }
                return 0;
            }
            return get(p.repo(), p.positional().get(0), Path.of(p.positional().get(1)), p.replayBound(), p.replayTarget());
        } catch (RuntimeException e) {
            PgstrataException denied = refused(e);
            if (denied != null || e instanceof PgstrataException) {
                PgstrataException error = denied != null ? denied : (PgstrataException) e;
                System.err.println("pgstrata: error: " + error.oneLine());
                return error.code().exitCode();
            }
            System.err.println("pgstrata: internal error: " + e);
            return org.pgstrata.api.ErrorCode.INTERNAL.exitCode();
        }
    }

    /** wal get, with restore_command's exit codes: 0 found, 1 absent, 126 damaged, 128 failed. */
    static int get(String repo, String name, Path target, TablespaceCreations.Bound replayBound, String replayTarget) {
        org.pgstrata.api.TestHooks.haltAt("wal-get");
        try {
            WalGet.Fetched f = WalGet.fetch(repo, name, target, replayBound, replayTarget);
            if (f == WalGet.Fetched.WRITTEN) {
                return 0;
            }
            System.err.println(OneLine.of(f == WalGet.Fetched.NOT_ARCHIVED ? "pgstrata: " + name + " is not in the archive at "
                    + S3Location.describe(repo) : "pgstrata: warning: archived WAL " + name + " in " + S3Location.describe(repo) + " is damaged;"
                    + " this recovery stops before it (at " + replayBound.lsn() + "), so it is answered as not archived (run 'pgstrata verify')"));
            return NOT_IN_ARCHIVE;
        } catch (RuntimeException e) {
            // A permission problem is said as such, but still exits above 125: recovery must stop, not end.
            PgstrataException denied = refused(e);
            if (denied != null || e instanceof PgstrataException) {
                PgstrataException p = denied != null ? denied : (PgstrataException) e;
                System.err.println("pgstrata: error: " + p.oneLine());
                return p.code() == org.pgstrata.api.ErrorCode.CORRUPT ? GET_DAMAGED : GET_FAILED;
            }
            System.err.println("pgstrata: internal error: " + e);
            return GET_FAILED;
        }
    }

    /**
     * A refused file (said with its owner and mode), or a path this JVM's locale cannot encode
     * (said with the locale to use), found anywhere below {@code e}; null for anything else.
     */
    private static PgstrataException refused(RuntimeException e) {
        PgstrataException denied = org.pgstrata.api.PermissionDenied.find(e);
        return denied != null ? denied : PgstrataException.unencodablePath(e);
    }
}
