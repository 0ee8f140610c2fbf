package org.pgstrata.db;

import java.nio.file.Files;
import java.nio.file.Path;
import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.postgres.ControlFile;
import org.pgstrata.postgres.BackupLabel;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.Setting;

/**
 * An online backup on the server: pg_backup_start / pg_backup_stop (PostgreSQL 15 and later)
 * over one dedicated connection that stays open while the files are
 * copied; closing the connection aborts the backup. A temporary physical replication slot on the
 * same connection keeps the server from recycling the WAL the backup needs until it is copied.
 *
 * <p>On a hot standby (PostgreSQL allows non-exclusive backups during recovery) the same calls
 * behave differently, and the callers must know: pg_backup_start makes a restartpoint rather than
 * a checkpoint, so the start LSN is the redo point of the last checkpoint the standby replayed (it
 * does not move while the primary does not checkpoint); pg_backup_stop writes no end-of-backup
 * record and switches no segment, and returns the standby's minimum recovery point as the stop
 * LSN (the point up to which its files are known to be written, which can lag what it replayed);
 * and the server cannot be asked to archive anything.
 */
public final class BackupSession implements AutoCloseable {
    /** The oldest server pgstrata backs up: PostgreSQL 15. */
    public static final int MIN_VERSION_NUM = 150000;
    private final Connection conn;
    private final int versionNum;
    private final String systemIdentifier;
    private final boolean dataChecksums;
    private final long walSegmentSize;
    private final String archiveCommand;
    private final boolean hintsLogged;
    private final boolean standby;
    private Lsn startLsn;
    private boolean started;

    private BackupSession(Connection conn, int versionNum, String systemIdentifier, boolean dataChecksums, long walSegmentSize,
                          String archiveCommand, boolean hintsLogged, boolean standby) {
        this.archiveCommand = archiveCommand;
        this.standby = standby;
        this.hintsLogged = hintsLogged;
        this.conn = conn;
        this.versionNum = versionNum;
        this.systemIdentifier = systemIdentifier;
        this.dataChecksums = dataChecksums;
        this.walSegmentSize = walSegmentSize;
    }

    /**
     * Connects and checks that {@code pgdata} is the data directory of the server behind the
     * connection and that its settings allow an online backup.
     */
    public static BackupSession open(ConnectionSettings settings, Path pgdata, Progress progress) {
        LocalCluster.requireDataDirectory(pgdata);
        Connection c = Db.connect(settings, "pgstrata backup");
        try {
            // Everything the checks need, in one round trip.
            String version_;
            String sysid;
            String serverDir;
            String fpw;
            String walLevel;
            String checksumsSetting;
            String segSetting;
            String archiveMode;
            String archiveCommand;
            String walLogHints;
            boolean inRecovery;
            try (var st = c.createStatement(); var rs = st.executeQuery("""
                    SELECT current_setting('server_version_num'), (SELECT system_identifier::text FROM pg_control_system()),
                           current_setting('data_directory'), current_setting('full_page_writes'), current_setting('wal_level'),
                           current_setting('data_checksums'), current_setting('wal_segment_size'),
                           current_setting('archive_mode'), current_setting('archive_command'),
                           current_setting('wal_log_hints'), pg_is_in_recovery()""")) {
                rs.next();
                version_ = rs.getString(1);
                sysid = rs.getString(2);
                serverDir = rs.getString(3);
                fpw = rs.getString(4);
                walLevel = rs.getString(5);
                checksumsSetting = rs.getString(6);
                segSetting = rs.getString(7);
                archiveMode = rs.getString(8);
                archiveCommand = rs.getString(9);
                walLogHints = rs.getString(10);
                inRecovery = rs.getBoolean(11);
            }
            int version = Integer.parseInt(version_);
            if (version < MIN_VERSION_NUM) {
                // 13 and 14 are past their end of life; pgstrata is tested on the majors it bundles (15 to 18) only.
                throw new PgstrataException(ErrorCode.SERVER_SETTING, "the server runs PostgreSQL " + version / 10000
                        + ", pgstrata needs 15 or later", "upgrade the server (pg_upgrade), or back it up with pg_basebackup");
            }
            requireServerOf(pgdata, ControlFile.read(pgdata).systemIdentifierText(), settings, sysid, serverDir, "");
            if (!"on".equals(fpw)) {
                throw new PgstrataException(ErrorCode.SERVER_SETTING, "full_page_writes is off on " + settings.describe()
                        + ": pages torn during the copy could not be repaired from WAL",
                        "set full_page_writes = on and reload the server");
            }
            if ("minimal".equals(walLevel)) {
                throw new PgstrataException(ErrorCode.SERVER_SETTING, "wal_level is minimal on " + settings.describe(),
                        "set wal_level = replica and restart the server");
            }
            boolean checksums = "on".equals(checksumsSetting);
            long segSize = Setting.bytes(segSetting);
            boolean archiving = !"off".equals(archiveMode) && archiveCommand != null && !archiveCommand.isBlank();
            return new BackupSession(c, version, sysid, checksums, segSize, archiving ? archiveCommand : null,
                    checksums || "on".equals(walLogHints), inRecovery);
        } catch (SQLException e) {
            closeQuietly(c);
            throw Db.sqlFailed("checking the server at " + settings.describe(), e);
        } catch (IOException e) {
            closeQuietly(c);
            throw new PgstrataException(ErrorCode.NOT_A_DATA_DIR, "cannot read " + pgdata.resolve("global/pg_control") + ": " + e.getMessage(),
                    "run pgstrata as a user that can read the data directory");
        } catch (RuntimeException e) {
            closeQuietly(c);
            throw e;
        }
    }

    /**
     * Refuses (exit 13) a server that is not the one of {@code pgdata}: another cluster (its
     * system identifier, {@code sysid}, is not {@code own}, pg_control's), or a copy of the same
     * one that runs on another directory ({@code serverDir}, null when unknown). {@code outcome}
     * ends the message ("; nothing was changed", or nothing).
     */
    public static void requireServerOf(Path pgdata, String own, ConnectionSettings settings, String sysid, String serverDir, String outcome) {
        if (!own.equals(sysid)) {
            throw new PgstrataException(ErrorCode.PGDATA_MISMATCH, pgdata + " belongs to the cluster with system identifier " + own
                    + ", but the server at " + settings.describe() + " is " + sysid + outcome,
                    "pass the --pgdata of the server you connect to, or connect to the server of that --pgdata (--port, PGPORT, the stanza's port)");
        }
        if (serverDir != null && !sameDirectory(Path.of(serverDir), pgdata)) {
            throw new PgstrataException(ErrorCode.PGDATA_MISMATCH,
                    "the server at " + settings.describe() + " runs on " + serverDir + ", not on " + pgdata + " (a copy of the same cluster)" + outcome,
                    "pass --pgdata " + serverDir);
        }
    }

    private static boolean sameDirectory(Path a, Path b) {
        try {
            return Files.isSameFile(a, b);
        } catch (IOException e) {
            return a.toAbsolutePath().normalize().equals(b.toAbsolutePath().normalize());
        }
    }

    /** True when the server is a hot standby (in recovery) rather than a primary. */
    public boolean standby() {
        return standby;
    }

    public int versionNum() {
        return versionNum;
    }

    public String systemIdentifier() {
        return systemIdentifier;
    }

    public boolean dataChecksums() {
        return dataChecksums;
    }

    /**
     * True when every change to a page moves its LSN, hint bits included (data checksums or
     * wal_log_hints on): the condition for telling changed pages by their LSN.
     */
    public boolean hintsLogged() {
        return hintsLogged;
    }

    /**
     * The timeline the server is on now, before any checkpoint: on a primary the one it writes
     * WAL on; on a standby the newest its replay is known to have reached: that of its minimum
     * recovery point when it is later than its last restartpoint's (the restartpoint a backup's
     * start makes moves there once the standby replayed a checkpoint on it; the backup checks the
     * timeline it then starts on). {@link #timeline()} lags on a primary just promoted: its last
     * checkpoint stays on the timeline before the promotion until the checkpoint the promotion asks
     * for ends, which is spread over minutes. After pg_rewind the last checkpoint is the one before
     * the fork, on the timeline left, until the next one (on a rewound server that follows the new
     * primary, until its first restartpoint), while pg_rewind put the minimum recovery point on the
     * timeline it rewound onto.
     */
    public int currentTimeline() {
        if (standby) {
            return Math.max(timeline(), minRecoveryTimeline());
        }
        try {
            String segment = Db.queryString(conn, "SELECT pg_walfile_name(pg_current_wal_insert_lsn())");
            return Integer.parseInt(segment.substring(0, 8), 16);
        } catch (SQLException e) {
            throw Db.sqlFailed("reading the server's timeline", e);
        }
    }

    /**
     * On a standby, the timeline of its minimum recovery point: the one its replay had reached when
     * it last wrote a page or made a restartpoint (a standby's backup's start moves the point to
     * where replay is, even when there is no new checkpoint to restart at). It never goes back.
     */
    public int minRecoveryTimeline() {
        try {
            return Integer.parseInt(Db.queryString(conn, "SELECT min_recovery_end_timeline::text FROM pg_control_recovery()"));
        } catch (SQLException e) {
            throw Db.sqlFailed("reading the standby's minimum recovery point", e);
        }
    }

    /** The server's current timeline, as of the backup's start checkpoint. */
    public int timeline() {
        try {
            return Integer.parseInt(Db.queryString(conn, "SELECT timeline_id::text FROM pg_control_checkpoint()"));
        } catch (SQLException e) {
            throw Db.sqlFailed("reading the server's timeline", e);
        }
    }

    public long walSegmentSize() {
        return walSegmentSize;
    }

    /**
     * The server's setting {@code name} (a constant such as "config_file"), or null when this role
     * may not read it (file locations need superuser or pg_read_all_settings).
     */
    public String setting(String name) {
        try (java.sql.PreparedStatement ps = conn.prepareStatement("SELECT current_setting(?)")) {
            ps.setString(1, name);
            try (java.sql.ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        } catch (SQLException e) {
            if ("42501".equals(e.getSQLState())) {
                return null;
            }
            throw Db.sqlFailed("reading " + name, e);
        }
    }

    /**
     * True when the server archives WAL with a command that names {@code repoPath} as a word of
     * its own: {@code /backup/pg} is not named by a command that archives into
     * {@code /backup/pg-archive} or {@code /backup/pg/old}.
     */
    public boolean archivesInto(String repoPath) {
        return archiveCommand != null && namesAsWord(archiveCommand, repoPath);
    }

    /**
     * Whether {@code word} occurs in {@code command} after a start (or a space, quote or =) and
     * before an end (or a space, quote, ;, &amp;, | or closing parenthesis), a slash allowed between.
     */
    static boolean namesAsWord(String command, String word) {
        if (word.isEmpty()) {
            return false;
        }
        for (int i = command.indexOf(word); i >= 0; i = command.indexOf(word, i + 1)) {
            int end = i + word.length();
            boolean startsWord = i == 0 || " \t\n'\"=".indexOf(command.charAt(i - 1)) >= 0;
            if (end < command.length() && command.charAt(end) == '/') {
                end++; // a trailing slash names the same directory
            }
            boolean endsWord = end == command.length() || " \t\n'\";&|)".indexOf(command.charAt(end)) >= 0;
            if (startsWord && endsWord) {
                return true;
            }
        }
        return false;
    }

    /**
     * What the server's archiver says about {@code segment}, for a wait that gave up on it: ""
     * when its last failure is neither on that segment or later nor newer than its last success
     * (or it cannot be read), else a clause naming the failure, whose reason only the server log
     * holds. A failure on an earlier segment that nothing was archived after blocks this one too:
     * the archiver takes segments in order.
     */
    public synchronized String archiverFailure(String segment) {
        try (java.sql.Statement st = conn.createStatement(); java.sql.ResultSet rs = st.executeQuery(
                "SELECT failed_count, last_failed_wal, last_failed_time::text, "
                        + "last_archived_time IS NULL OR last_failed_time > last_archived_time FROM pg_stat_archiver")) {
            if (!rs.next() || rs.getString(2) == null || rs.getString(2).length() < 24) {
                return "";
            }
            boolean earlier = rs.getString(2).substring(0, 24).compareTo(segment) < 0;
            if (earlier && !rs.getBoolean(4)) {
                return "";
            }
            return "; the server's archiver fails on " + rs.getString(2) + " (" + rs.getLong(1) + " failures, the last at " + rs.getString(3)
                    + (earlier ? ", none archived since; it archives in order, so nothing after it reaches the archive" : "")
                    + "), for a reason its log gives (a full repository disk is one)";
        } catch (SQLException e) {
            return "";
        }
    }

    /**
     * An immediate checkpoint outside any backup, for advise: it writes the pages that changed
     * only in shared buffers to the files, as a backup's own start checkpoint would, so that
     * reading the files sees them. Needs superuser or pg_checkpoint (15 and later).
     */
    public void checkpoint() {
        try {
            Db.execute(conn, "CHECKPOINT");
        } catch (SQLException e) {
            if (!"42501".equals(e.getSQLState())) {
                throw Db.sqlFailed("CHECKPOINT", e);
            }
            throw new PgstrataException(ErrorCode.SERVER, "the server refused CHECKPOINT: " + e.getMessage().split("\n")[0],
                    "connect as a superuser or a member of pg_checkpoint, or pass --no-checkpoint (pages changed only in "
                            + "shared buffers then go uncounted)", e);
        }
    }

    /**
     * What the server's WAL summaries say changed between {@code from} and {@code to} (see
     * {@link WalSummaries}); only once {@link WalSummaries#noneKept} of {@link #versionNum} said it keeps them.
     */
    public WalSummaries.Outcome walSummaries(int timeline, Lsn from, Lsn to, java.time.Duration wait) {
        return WalSummaries.read(conn, timeline, from, to, wait);
    }

    /** The server's current WAL insert position; on a standby, the end of the last record it replayed. */
    public Lsn currentLsn() {
        try {
            // pg_current_wal_lsn() fails during recovery.
            return Lsn.parse(Db.queryString(conn, "SELECT (CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() "
                    + "ELSE pg_current_wal_lsn() END)::text"));
        } catch (SQLException e) {
            throw Db.sqlFailed("reading the server's WAL position", e);
        }
    }

    /** Starts the backup with an immediate checkpoint, or one at the server's pace ({@code spread}); returns the start LSN. */
    public Lsn start(String label, boolean spread, Progress progress) {
        try {
            try {
                Db.execute(conn, "SELECT pg_create_physical_replication_slot('pgstrata_backup_' || pg_backend_pid(), true, true)");
            } catch (SQLException e) {
                progress.warn("could not reserve WAL with a temporary replication slot (" + e.getMessage().split("\n")[0]
                        + "); a long backup may find its WAL recycled");
            }
            String sql = "SELECT pg_backup_start(?, ?)::text";
            try (PreparedStatement ps = conn.prepareStatement(sql)) {
                ps.setString(1, label);
                ps.setBoolean(2, !spread);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    startLsn = Lsn.parse(rs.getString(1));
                }
            }
            started = true;
            return startLsn;
        } catch (SQLException e) {
            throw Db.sqlFailed("starting the backup (pg_backup_start)", e);
        }
    }

    /** What pg_backup_stop returns: the stop LSN and the contents of backup_label and tablespace_map. */
    public record StopResult(Lsn stopLsn, String backupLabel, String tablespaceMap, int timeline) {
    }

    /** Stops the backup without waiting for WAL archiving (the WAL is copied into the backup). */
    public StopResult stop() {
        String sql = "SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(false)";
        try {
            Db.execute(conn, "SET client_min_messages = warning");
            String lsn;
            String label;
            String map;
            try (var st = conn.createStatement(); ResultSet rs = st.executeQuery(sql)) {
                rs.next();
                lsn = rs.getString(1);
                label = rs.getString(2);
                map = rs.getString(3);
            }
            started = false;
            int timeline = BackupLabel.parse(label).timeline();
            if (standby) {
                // The stop LSN is the minimum recovery point, on the timeline pg_control names with it; WAL is looked up by the
                // start's timeline, so a standby that followed a promoted primary onto a new timeline meanwhile is refused.
                int stopTimeline = minRecoveryTimeline();
                if (stopTimeline != timeline) {
                    throw new PgstrataException(ErrorCode.SERVER, "the standby moved from timeline " + timeline + " to timeline " + stopTimeline
                            + " during the backup (its primary was promoted or replaced); the backup was not kept",
                            "run the backup again");
                }
            }
            return new StopResult(Lsn.parse(lsn), label, map == null ? "" : map, timeline);
        } catch (SQLException e) {
            if (standby && String.valueOf(e.getMessage()).contains("promoted during online backup")) {
                // PostgreSQL: the files read may mix the standby's state before and after promotion.
                throw new PgstrataException(ErrorCode.SERVER, "the standby was promoted while the backup read its files; the copy may mix "
                        + "its state before and after, so the backup was not kept", "run the backup again: the promoted server is a "
                        + "primary now (or back up the new standby)", e);
            }
            throw Db.sqlFailed("stopping the backup (pg_backup_stop)", e);
        }
    }

    /**
     * On a standby: waits until WAL past {@code lsn}, the backup's stop, is there whole, and
     * returns how far the backup's WAL must reach. Recovery from the backup reaches the stop only
     * when it reads the record after it, which on a standby only the primary can write. The
     * standby has that record whole once it has replayed past the stop, or when its startup
     * process has read it and waits before applying it: a delayed standby
     * (recovery_min_apply_delay) holds each commit younger than its delay, and paused replay
     * holds everything, for hours. WAL merely received is not enough: streaming can end in the
     * middle of a record. A held standby's backup takes WAL no further than the segment after the
     * stop's (a record that starts there ends there unless it is larger than a segment), not the
     * hours it received ahead. The wait fails after {@code timeoutSeconds} without progress.
     */
    public Lsn awaitWalPast(Lsn lsn, long segmentSize, int timeoutSeconds) {
        Lsn seen = null;
        long deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
        while (true) {
            StandbyWal now = standbyWal();
            Lsn replayed = now.replayed();
            if (lsn.isBefore(replayed)) {
                return replayed;
            }
            Lsn received = now.received();
            if (lsn.isBefore(received) && now.held()) {
                Lsn bound = new Lsn((lsn.segmentNumber(segmentSize) + 2) * segmentSize - 1);
                return received.isBefore(bound) ? received : bound;
            }
            if (seen == null || seen.isBefore(received)) {
                seen = received;
                deadline = System.nanoTime() + timeoutSeconds * 1_000_000_000L;
            } else if (System.nanoTime() > deadline) {
                throw new PgstrataException(ErrorCode.WAL_MISSING, "the standby replayed no WAL after the backup's stop " + lsn + " within "
                        + timeoutSeconds + " s (it is at " + replayed + ", received up to " + received + "): a backup from a standby is "
                        + "complete once the primary writes anything after it; the backup was not kept", "run CHECKPOINT on the primary (an "
                        + "idle primary writes nothing) and the backup again; if the primary is busy, check the standby's replication "
                        + "(pg_stat_wal_receiver); a delayed or paused standby is recognised only by a role that may read pg_stat_activity's "
                        + "wait events (pg_read_all_stats)");
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new PgstrataException(ErrorCode.WAL_MISSING, "interrupted while waiting for the standby's WAL", null);
            }
        }
    }

    /**
     * Where a standby is, in one round trip: what it replayed; the end of the WAL it holds,
     * streamed (and flushed) or replayed, whichever is further; and whether its startup process has
     * read the next record and waits before applying it, for recovery_min_apply_delay or paused
     * replay (its wait events; a role without pg_read_all_stats sees none, and waits for the replay).
     */
    private record StandbyWal(Lsn replayed, Lsn received, boolean held) {
    }

    private StandbyWal standbyWal() {
        try (java.sql.Statement st = conn.createStatement();
             java.sql.ResultSet rs = st.executeQuery("SELECT pg_last_wal_replay_lsn()::text, "
                     + "greatest(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn())::text, "
                     + "EXISTS (SELECT FROM pg_stat_activity WHERE backend_type = 'startup' "
                     + "AND wait_event IN ('RecoveryApplyDelay', 'RecoveryPause'))")) {
            rs.next();
            return new StandbyWal(Lsn.parse(rs.getString(1)), Lsn.parse(rs.getString(2)), rs.getBoolean(3));
        } catch (SQLException e) {
            throw Db.sqlFailed("reading the standby's WAL position", e);
        }
    }

    /**
     * Whether the session (and with it the backup started on it) is still there: false once the
     * server ended it (a restart, a shutdown, pg_terminate_backend) or the connection broke.
     */
    public synchronized boolean alive() {
        try {
            return conn.isValid(60);
        } catch (SQLException e) {
            return false;
        }
    }

    /** Closing the connection aborts a backup that was not stopped and drops the temporary slot. */
    @Override
    public void close() {
        closeQuietly(conn);
    }

    private static void closeQuietly(Connection c) {
        try {
            c.close();
        } catch (SQLException e) {
            // the server aborts the backup and drops the slot when the session ends either way
        }
    }
}
