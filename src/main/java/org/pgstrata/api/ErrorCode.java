package org.pgstrata.api;

/**
 * Every failure pgstrata reports has one of these codes. The exit status is part of the
 * command-line contract: scripts test for it, so a code keeps its number forever.
 */
public enum ErrorCode {
    /** Bad command-line usage (picocli's own convention). */
    USAGE(2),
    /** A restore target (or other output directory) already holds files. */
    TARGET_NOT_EMPTY(10),
    /** The repository belongs to another cluster or another major version. */
    REPO_MISMATCH(11),
    /** A --pgdata path is not a PostgreSQL data directory. */
    NOT_A_DATA_DIR(12),
    /** The data directory and the server behind the connection are different clusters. */
    PGDATA_MISMATCH(13),
    /** Another pgstrata command holds the repository lock. */
    LOCKED(14),
    /** An object or manifest failed its checksum, or is missing. */
    CORRUPT(15),
    /** The server could not be reached or refused the connection. */
    CONNECTION(16),
    /** A backup, repository or file that was asked for does not exist. */
    NOT_FOUND(17),
    /** PostgreSQL binaries could not be found or unpacked. */
    BINARIES(18),
    /** A local server failed to initialise, start or stop, or the server refused an SQL statement pgstrata sent. */
    SERVER(19),
    /** A server setting makes the operation unsafe (full_page_writes off, wal_level minimal...), or the role cannot back up all of a database. */
    SERVER_SETTING(20),
    /** A restored cluster's content differs from the source's. */
    VERIFY_FAILED(21),
    /** Reading or writing local files failed. */
    IO(22),
    /** A WAL file was pushed with content that differs from the archived file of the same name. */
    WAL_CONFLICT(23),
    /** A recovery target that no backup and archive in the repository can reach. */
    TARGET_UNREACHABLE(24),
    /** WAL that a backup or a restore needs is not in the archive. */
    WAL_MISSING(25),
    /**
     * An incremental or differential cannot be built on the backup it would reference: that
     * backup belongs to another timeline or system.
     */
    REFERENCE_MISMATCH(26),
    /** A backup that a restore needs, or that others build on, is missing or out of order. */
    CHAIN_BROKEN(27),
    /** A backup cannot be removed because others depend on it. */
    HAS_DEPENDANTS(28),
    /** pg_dump is older than the server, or pg_restore older than the pg_dump that wrote the archive. */
    CLIENT_TOO_OLD(29),
    /** pg_dump or pg_restore ran and failed. */
    DUMP_FAILED(30),
    /**
     * The repository's store overwrites an existing object on a write that must only create
     * (If-None-Match ignored): it cannot keep one content per WAL name, nor fence its lock.
     */
    NO_CONDITIONAL_WRITES(31),
    /** A server runs on the data directory a command would write into (postmaster.pid names a live postgres process). */
    SERVER_RUNNING(32),
    /**
     * The server refused the user or its password, or wanted a password that PGPASSWORD and the
     * password file do not give.
     */
    AUTHENTICATION(33),
    /**
     * Recovery would create a tablespace at a location that holds another cluster's tablespace
     * (its PG_major_catversion directory): replayed, the CREATE TABLESPACE would write into that
     * cluster's files. wal get (restore_command) exits 128 for it, so that recovery stops.
     */
    TABLESPACE_IN_USE(34),
    /**
     * WAL that a recovery needs was removed by expire (it lies before the oldest backup expire
     * kept): the backup being restored, or the copy being recovered, is older than the archive.
     * wal get (restore_command) exits 128 for it, so that recovery stops instead of promoting in
     * the past.
     */
    WAL_EXPIRED(35),
    /**
     * The cluster changed under a backup in a way its WAL cannot repair: a database directory
     * went away while it was copied, and recovery would rebuild a database from that incomplete
     * copy. Nothing was kept; a rerun works.
     */
    CLUSTER_CHANGED(36),
    /**
     * The operating system refused access to a file or directory (EACCES): typically another user
     * owns it. Numbered apart from 10-31, so that codes added beside those keep their numbers.
     */
    PERMISSION_DENIED(45),
    /**
     * The server does not archive WAL into this repository: archive_mode off, no archive_command,
     * or one that names another repository or another program (pgstrata check). Numbered apart
     * from 10-31 so that codes added beside it keep their own numbers.
     */
    ARCHIVE_NOT_CONFIGURED(40),
    /** archive_command runs and fails: pg_stat_archiver counts failures (pgstrata check). */
    ARCHIVE_FAILING(41),
    /**
     * The JVM's heap is too small for the command (the launchers bound it at 512 MiB unless
     * PGSTRATA_JAVA_OPTS sets -Xmx). Numbered apart from 10-31.
     */
    OUT_OF_MEMORY(46),
    /**
     * The repository is encrypted and no passphrase was given (--cipher-pass-file,
     * PGSTRATA_CIPHER_PASS, or the stanza's cipher-pass), or encryption was asked for without one.
     */
    CIPHER_PASS_MISSING(47),
    /** The passphrase given does not open the repository's key. Nothing was read or written. */
    CIPHER_PASS_WRONG(48),
    /** A restore drill found a problem: the backup did not restore, recover, or pass its checks. Recorded in the repository. */
    DRILL_FAILED(49),
    /** Anything else: a bug. */
    INTERNAL(70);

    private final int exitCode;

    ErrorCode(int exitCode) {
        this.exitCode = exitCode;
    }

    public int exitCode() {
        return exitCode;
    }
}
