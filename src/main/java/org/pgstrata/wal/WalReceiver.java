package org.pgstrata.wal;

import org.pgstrata.storage.s3.S3Location;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Properties;
import java.util.function.BooleanSupplier;
import org.pgstrata.api.Compression;
import org.pgstrata.api.ConnectionSettings;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.Progress;
import org.pgstrata.db.Db;
import org.pgstrata.manifest.RepoIdentity;
import org.pgstrata.manifest.WalArchive;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.Setting;
import org.pgstrata.postgres.TimelineHistory;
import org.pgstrata.postgres.WalFileName;
import org.pgstrata.storage.Storage;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;

/**
 * A streaming WAL receiver: physical replication (pgjdbc) over a replication slot that
 * reserves WAL, assembling whole segments and archiving each one. A position is reported to the
 * server as flushed only once its segment is durable in the repository, so the slot never lets
 * the server drop WAL that is not safe. After a restart it resumes from the slot; when the
 * server moves to a new timeline it archives the history file and continues on it.
 */
public final class WalReceiver {
    /** How the receiver runs: which slot, and optionally a position to stop at. */
    public record Options(String repo, ConnectionSettings connection, String slot, Lsn stopAt, Compression compression) {
    }

    /** What a run archived. */
    public record Result(int segments, long bytes, Lsn flushed, int timeline) {
    }

    private final Progress progress;
    private final BooleanSupplier stopRequested;

    public WalReceiver(Progress progress, BooleanSupplier stopRequested) {
        this.progress = progress;
        this.stopRequested = stopRequested;
    }

    public Result run(Options o) {
        try (RepoIdentity.Opened opened = RepoIdentity.open(o.repo())) {
            Storage storage = opened.storage();
            String sysid = opened.systemIdentifier();
            if (sysid == null) {
                throw new PgstrataException(ErrorCode.NOT_FOUND, "no pgstrata repository at " + storage.describe(),
                        WalPush.noRepositoryHint(storage.describe(), "--repo"));
            }
            WalArchive archive = new WalArchive(storage);
            int segments = 0;
            long bytes = 0;
            Lsn flushed = null;
            int timeline = 0;
            // Each pass is one replication connection; a timeline switch or a lost connection ends
            // it and the next pass resumes from the slot.
            int failures = 0;
            boolean everStreamed = false;
            while (!stopRequested.getAsBoolean()) {
                Pass p;
                try {
                    p = pass(o, archive, sysid);
                    failures = 0;
                    everStreamed = true;
                } catch (PgstrataException e) {
                    boolean transientFailure = e.code() == ErrorCode.CONNECTION || e.code() == ErrorCode.SERVER;
                    if (!everStreamed || !transientFailure || ++failures > MAX_RETRIES) {
                        throw e;
                    }
                    progress.warn("streaming stopped (" + e.getMessage() + "); resuming from the slot in 1 s");
                    sleep(1000);
                    continue;
                }
                segments += p.segments;
                bytes += p.bytes;
                flushed = p.flushed;
                timeline = p.timeline;
                if (p.finished) {
                    break;
                }
            }
            return new Result(segments, bytes, flushed, timeline);
        } catch (WalArchive.ConflictException e) {
            throw new PgstrataException(ErrorCode.WAL_CONFLICT, e.getMessage(),
                    "another cluster (or a restored copy with archiving on) archives into this repository; give each its own");
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "the receiver cannot write to " + S3Location.describe(o.repo()) + ": " + e.getMessage(),
                    "check the repository; the slot keeps the WAL on the server meanwhile");
        }
    }

    /** Consecutive failed passes (server restarting, promotion) before the receiver gives up. */
    private static final int MAX_RETRIES = 60;

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static final class Pass {
        int segments;
        long bytes;
        Lsn flushed;
        int timeline;
        boolean finished;
    }

    private Pass pass(Options o, WalArchive archive, String sysid) throws IOException {
        Pass pass = new Pass();
        ConnectionSettings s = o.connection();
        long segSize;
        Lsn start;
        try (Connection sql = Db.connect(s, "pgstrata wal receive")) {
            s = Db.reached(s, sql); // of a host list, the one whose slot this session prepared: the stream comes from there too
            segSize = Setting.bytes(Db.queryString(sql, "SELECT current_setting('wal_segment_size')"));
            start = slotStart(sql, o.slot(), progress);
        } catch (SQLException e) {
            throw Db.sqlFailed("preparing replication slot " + o.slot(), e);
        }
        Connection repl = replicationConnection(s);
        try {
            String[] ident = identify(repl);
            if (!ident[0].equals(sysid)) {
                throw new PgstrataException(ErrorCode.REPO_MISMATCH, "the server at " + s.describe() + " is cluster " + ident[0]
                        + ", but repository " + archive.storage().describe() + " serves " + sysid, "receive into this cluster's own repository");
            }
            int tli = Integer.parseInt(ident[1]);
            pass.timeline = tli;
            // The timeline this pass streams: the server's, or an ancestor of it whose whole segments the slot still keeps.
            int streamTli = tli;
            Lsn ancestorEnd = null;
            if (tli > 1) {
                // Archive the history of the current timeline, and start on it at its first segment we lack.
                String[] hist = timelineHistory(repl, tli);
                byte[] content = hist[1].getBytes(StandardCharsets.UTF_8);
                archive.storedAgainWarning(archive.put(hist[0], content, o.compression()), hist[0], "the streamed file").ifPresent(progress::warn);
                TimelineHistory h = TimelineHistory.parse(tli, hist[1]);
                Lsn switchPoint = h.begin();
                int holding = h.timelineAt(start);
                Lsn holdingEnd = h.ancestors().stream().filter(e -> e.timeline() == holding).map(TimelineHistory.Entry::switchPoint)
                        .findFirst().orElse(null);
                if (holdingEnd != null && start.segmentNumber(segSize) < holdingEnd.segmentNumber(segSize)) {
                    // The server moved on while whole segments of an older timeline were not yet archived (the receiver
                    // was down, or behind, at the promotion): they exist only there, so they are streamed from that
                    // timeline first, up to the segment where it ends; the next pass continues on the new one.
                    streamTli = holding;
                    ancestorEnd = holdingEnd;
                    pass.timeline = holding;
                    progress.step("archiving timeline " + holding + "'s segments up to its end at " + holdingEnd + " first");
                } else if (start.isBefore(switchPoint)) {
                    // WAL before the switch on the old timeline is the old timeline's business; the new
                    // timeline's copy of the switch segment holds both parts.
                    long seg = switchPoint.segmentNumber(segSize);
                    start = new Lsn(seg * segSize);
                    progress.step("following timeline " + tli + " from " + switchPoint + " (segment " + WalFileName.segment(tli, seg, segSize) + ")");
                }
            }
            long segno = start.segmentNumber(segSize);
            start = new Lsn(segno * segSize);
            if (o.stopAt() != null && !start.isBefore(o.stopAt())) {
                // Everything up to the stop position is archived already (the slot says so).
                pass.flushed = start;
                pass.finished = true;
                return pass;
            }
            progress.step("streaming from " + start + " on timeline " + streamTli + " through slot " + o.slot());
            PGReplicationStream stream = streamTli != tli ? ancestorStream(repl, o.slot(), start, streamTli)
                    : repl.unwrap(PGConnection.class).getReplicationAPI().replicationStream().physical()
                    .withSlotName(o.slot()).withStartPosition(LogSequenceNumber.valueOf(start.value())).withStatusInterval(1,
                            java.util.concurrent.TimeUnit.SECONDS).start();
            Watchdog watch = new Watchdog(repl, s, tli, progress, stopRequested);
            watch.start();
            byte[] segment = new byte[(int) segSize];
            long segStart = start.value();
            long filled = 0;
            try {
                while (!stopRequested.getAsBoolean() && !watch.tripped()) {
                    if (ancestorEnd != null && segStart >= ancestorEnd.segmentNumber(segSize) * segSize) {
                        break; // the older timeline's whole segments are archived; its last one is the new timeline's
                    }
                    ByteBuffer msg;
                    try {
                        msg = stream.readPending();
                    } catch (SQLException e) {
                        // The server ended the stream (a restart, a lost link), or the watchdog did
                        // (a new timeline, a stop request).
                        if (!watch.tripped()) {
                            progress.step("the stream ended (" + e.getMessage().split("\n")[0] + "); reconnecting");
                        }
                        break;
                    }
                    if (msg == null) {
                        if (stream.isClosed()) {
                            break;
                        }
                        if (o.stopAt() != null && pass.flushed != null && !pass.flushed.isBefore(o.stopAt())) {
                            pass.finished = true;
                            break;
                        }
                        Thread.sleep(5);
                        continue;
                    }
                    // For physical streams pgjdbc reports the position after the message's data.
                    int len = msg.remaining();
                    long at = stream.getLastReceiveLSN().asLong() - len;
                    int offset = 0;
                    while (offset < len) {
                        long pos = at + offset;
                        if (pos < segStart || pos >= segStart + segSize) {
                            throw new IOException("received WAL at " + new Lsn(pos) + " outside segment starting " + new Lsn(segStart));
                        }
                        int inSeg = (int) (pos - segStart);
                        int n = (int) Math.min(len - offset, segSize - inSeg);
                        msg.get(segment, inSeg, n);
                        offset += n;
                        filled = Math.max(filled, inSeg + n);
                        if (filled == segSize) {
                            String name = WalFileName.segment(streamTli, segStart / segSize, segSize);
                            archive.storedAgainWarning(archive.put(name, segment, o.compression()), name, "the streamed file").ifPresent(progress::warn);
                            pass.segments++;
                            pass.bytes += segSize;
                            segStart += segSize;
                            filled = 0;
                            // Durable in the repository: only now may the server forget it.
                            Lsn safe = new Lsn(segStart);
                            stream.setFlushedLSN(LogSequenceNumber.valueOf(safe.value()));
                            stream.setAppliedLSN(LogSequenceNumber.valueOf(safe.value()));
                            stream.forceUpdateStatus();
                            pass.flushed = safe;
                            progress.step("archived " + name);
                        }
                    }
                    if (o.stopAt() != null && pass.flushed != null && !pass.flushed.isBefore(o.stopAt())) {
                        pass.finished = true;
                        break;
                    }
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                pass.finished = true;
            } finally {
                watch.interrupt();
                try {
                    stream.close();
                } catch (SQLException e) {
                    // the connection is closing anyway
                }
            }
            if (stopRequested.getAsBoolean()) {
                pass.finished = true;
            }
            return pass;
        } catch (SQLException e) {
            // The server moved to a new timeline under us: the next pass follows it. Only the server's
            // own timeline tells; the error's text does not (a busy slot named "timeline_a" reads like
            // a switch, and taking it for one reconnected at once, without end).
            Integer now = pass.timeline == 0 ? null : currentTimeline(s);
            if (now != null && now != pass.timeline) {
                progress.step("the server switched timelines (" + e.getMessage().split("\n")[0] + "); reconnecting");
                return pass;
            }
            throw Db.sqlFailed("streaming WAL from " + s.describe(), e);
        } finally {
            // Not in a try-with-resources: a server that restarted leaves a connection that fails to close
            // ("Broken pipe"), which would end the receiver instead of the pass that the next one resumes.
            try {
                repl.close();
            } catch (SQLException e) {
                // the connection was lost already
            }
        }
    }

    /**
     * Watches a stream from the side. pgjdbc can block in a read when a promoted server has
     * nothing more to send on the old timeline, and when nothing arrives at all; closing the
     * connection is then the only way out. Every second it checks for a stop request and for a
     * new timeline on the server, and aborts the connection for either.
     */
    private static final class Watchdog extends Thread {
        private final Connection repl;
        private final ConnectionSettings settings;
        private final int timeline;
        private final Progress progress;
        private final BooleanSupplier stop;
        private volatile boolean tripped;

        Watchdog(Connection repl, ConnectionSettings settings, int timeline, Progress progress, BooleanSupplier stop) {
            super("pgstrata-receiver-watchdog");
            setDaemon(true);
            this.repl = repl;
            this.settings = settings;
            this.timeline = timeline;
            this.progress = progress;
            this.stop = stop;
        }

        boolean tripped() {
            return tripped;
        }

        @Override
        public void run() {
            try {
                while (!isInterrupted()) {
                    Thread.sleep(1000);
                    boolean stopNow = stop.getAsBoolean();
                    Integer now = stopNow ? null : currentTimeline(settings);
                    if (stopNow || (now != null && now != timeline)) {
                        if (!stopNow) {
                            progress.step("the server moved to timeline " + now + "; following it");
                        }
                        tripped = true;
                        try {
                            repl.abort(Runnable::run);
                        } catch (SQLException e) {
                            // it is going away either way
                        }
                        return;
                    }
                }
            } catch (InterruptedException e) {
                // the pass ended
            }
        }
    }

    /** The server's current timeline, or null while it is in recovery or unreachable. */
    private static Integer currentTimeline(ConnectionSettings s) {
        try (Connection c = Db.connect(s, "pgstrata wal receive")) {
            String name = Db.queryString(c, "SELECT CASE WHEN pg_is_in_recovery() THEN NULL ELSE pg_walfile_name(pg_current_wal_lsn()) END");
            return name == null ? null : Integer.parseInt(name.substring(0, 8), 16);
        } catch (PgstrataException | SQLException e) {
            return null;
        }
    }

    /** Creates the slot (reserving WAL now) if needed; returns where streaming resumes. */
    private static Lsn slotStart(Connection c, String slot, Progress progress) throws SQLException {
        boolean exists = false;
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT restart_lsn::text, slot_type, wal_status FROM pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, slot);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    if (!"physical".equals(rs.getString(2))) {
                        throw new PgstrataException(ErrorCode.USAGE, "replication slot " + slot + " is a " + rs.getString(2) + " slot",
                                "use a physical slot (or another --slot name)");
                    }
                    if (rs.getString(1) != null) {
                        return Lsn.parse(rs.getString(1));
                    }
                    if ("lost".equals(rs.getString(3))) {
                        // Reserving anew would go on after a gap in the archive without a word.
                        throw new PgstrataException(ErrorCode.SERVER, "replication slot " + slot + " was invalidated: the server removed WAL "
                                + "it kept for it, which may be missing from the archive", "drop the slot (SELECT pg_drop_replication_slot('"
                                + slot + "')), run the receiver again, and take a full backup");
                    }
                    exists = true;
                }
            }
        }
        if (exists) {
            // Created without reserving WAL (pg_create_physical_replication_slot's default): it holds nothing, and
            // PostgreSQL cannot make it reserve WAL afterwards (pg_replication_slot_advance refuses such a slot), so it is
            // made again, reserving. A slot in use by someone else cannot be dropped, and the error says so.
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_drop_replication_slot(?)")) {
                ps.setString(1, slot);
                ps.execute();
            }
        }
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_create_physical_replication_slot(?, true)")) {
            ps.setString(1, slot);
            ps.execute();
        }
        progress.step("created replication slot " + slot + " (it keeps the server's WAL until it is archived)");
        try (PreparedStatement ps = c.prepareStatement("SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = ?")) {
            ps.setString(1, slot);
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return Lsn.parse(rs.getString(1));
            }
        }
    }

    /**
     * A physical stream on an older timeline than the server's (START_REPLICATION ... TIMELINE N),
     * which pgjdbc's builder cannot ask for; the server ends it at that timeline's switch point.
     */
    private static PGReplicationStream ancestorStream(Connection repl, String slot, Lsn start, int timeline) throws SQLException {
        org.postgresql.copy.CopyDual dual = repl.unwrap(PGConnection.class).getCopyAPI()
                .copyDual("START_REPLICATION SLOT " + slot + " PHYSICAL " + start + " TIMELINE " + timeline);
        return new org.postgresql.core.v3.replication.V3PGReplicationStream(dual, LogSequenceNumber.valueOf(start.value()), 1000, true,
                org.postgresql.replication.ReplicationType.PHYSICAL);
    }

    /**
     * The physical replication connection. Its password is looked up in the password file under
     * the database {@code replication}, as libpq does for pg_receivewal and standbys (physical
     * replication connects to no database): a file written for pg_receivewal then serves here too.
     * The SQL session keeps --dbname.
     */
    private static Connection replicationConnection(ConnectionSettings sql) {
        ConnectionSettings s = sql.withDbname("replication");
        Properties p = Db.properties(s);
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(p, "10");
        PGProperty.REPLICATION.set(p, "true");
        PGProperty.PREFER_QUERY_MODE.set(p, "simple");
        PGProperty.APPLICATION_NAME.set(p, "pgstrata wal receive");
        try {
            return DriverManager.getConnection(Db.url(s), p);
        } catch (SQLException e) {
            throw Db.connectionFailed(s, e);
        }
    }

    /** IDENTIFY_SYSTEM: {system identifier, timeline, current WAL position}. */
    private static String[] identify(Connection repl) throws SQLException {
        try (Statement st = repl.createStatement(); ResultSet rs = st.executeQuery("IDENTIFY_SYSTEM")) {
            rs.next();
            return new String[] {rs.getString(1), rs.getString(2), rs.getString(3)};
        }
    }

    /** TIMELINE_HISTORY: {file name, content}. */
    private static String[] timelineHistory(Connection repl, int tli) throws SQLException {
        try (Statement st = repl.createStatement(); ResultSet rs = st.executeQuery("TIMELINE_HISTORY " + tli)) {
            rs.next();
            return new String[] {rs.getString(1), new String(rs.getBytes(2), StandardCharsets.UTF_8)};
        }
    }

}
