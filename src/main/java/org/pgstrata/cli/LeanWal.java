package org.pgstrata.cli;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.pgstrata.api.Compression;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.wal.WalPush;
import org.pgstrata.storage.s3.S3Location;
import org.pgstrata.wal.WalGet;

/**
 * {@code wal push [--repo REPO] [S3 options] [--no-batch] [--compress ALGO] [-v] PATH} and
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
        if (args.length < 3 || !args[0].equals("wal") || !(args[1].equals("push") || args[1].equals("get"))) {
            return false;
        }
        return parse(args) != null;
    }

    private record Parsed(String verb, String repo, boolean batch, Compression compression, List<String> positional) {
    }

    private static Parsed parse(String[] args) {
        String repo = System.getenv("PGSTRATA_REPO");
        String endpoint = null;
        String region = null;
        boolean pathStyle = false;
        boolean batch = true;
        Compression compression = Compression.ZSTD;
        List<String> positional = new ArrayList<>();
        for (int i = 2; i < args.length; i++) {
            String a = args[i];
            if (a.equals("--repo") && i + 1 < args.length) {
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
                try {
                    compression = Compression.parse(args[++i]);
                } catch (PgstrataException e) {
                    return null;
                }
            } else if (a.startsWith("-")) {
                return null; // --help, or something the full command line should explain
            } else {
                positional.add(a);
            }
        }
        int want = args[1].equals("push") ? 1 : 2;
        if (repo == null || positional.size() != want) {
            return null;
        }
        try {
            repo = S3Location.withOptions(repo, endpoint, region, pathStyle);
        } catch (IllegalArgumentException e) {
            return null; // the full command line says what is wrong
        }
        return new Parsed(args[1], repo, batch, compression, positional);
    }

    static int run(String[] args) {
        Parsed p = parse(args);
        try {
            if (p.verb().equals("push")) {
                WalPush.Result r = WalPush.push(p.repo(), Path.of(p.positional().get(0)), p.batch(), p.compression());
                for (String w : r.warnings()) {
                    System.err.println("pgstrata: warning: " + w);
                }
                if (!r.alsoPushed().isEmpty()) {
                    System.err.println("pgstrata: archived " + r.name() + " and " + r.alsoPushed().size() + " more ready file(s), up to "
                            + r.alsoPushed().get(r.alsoPushed().size() - 1));
                }
                return 0;
            }
            return get(p.repo(), p.positional().get(0), Path.of(p.positional().get(1)));
        } catch (RuntimeException e) {
            PgstrataException denied = org.pgstrata.api.PermissionDenied.find(e);
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
    static int get(String repo, String name, Path target) {
        try {
            if (WalGet.get(repo, name, target)) {
                return 0;
            }
            System.err.println("pgstrata: " + name + " is not in the archive at " + S3Location.describe(repo));
            return NOT_IN_ARCHIVE;
        } catch (RuntimeException e) {
            // A permission problem is said as such, but still exits above 125: recovery must stop, not end.
            PgstrataException denied = org.pgstrata.api.PermissionDenied.find(e);
            if (denied != null || e instanceof PgstrataException) {
                PgstrataException p = denied != null ? denied : (PgstrataException) e;
                System.err.println("pgstrata: error: " + p.oneLine());
                return p.code() == org.pgstrata.api.ErrorCode.CORRUPT ? GET_DAMAGED : GET_FAILED;
            }
            System.err.println("pgstrata: internal error: " + e);
            return GET_FAILED;
        }
    }
}
