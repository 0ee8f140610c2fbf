package org.pgstrata.db;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.pgstrata.postgres.Lsn;
import org.pgstrata.postgres.Page;

/**
 * What PostgreSQL 17+'s WAL summaries (summarize_wal = on) say was modified between two LSNs:
 * for each relation fork, the blocks that WAL touched and the length it was cut to (the "limit
 * block"), and the databases created in between (their files are all new). Read through
 * pg_available_wal_summaries() and pg_wal_summary_contents(), which need superuser or an explicit
 * GRANT EXECUTE.
 *
 * <p>Either the summaries cover the whole range on one timeline, or they are not used at all: a
 * gap (summarize_wal was off for a while, wal_summary_keep_time removed old ones) or a timeline
 * switch means a change could be missing.
 */
public final class WalSummaries {
    /** PostgreSQL's default tablespace (base/) and global tablespace (global/). */
    public static final long DEFAULT_TABLESPACE = 1663;
    public static final long GLOBAL_TABLESPACE = 1664;

    /** One relation fork, as PostgreSQL names it: tablespace, database (0 for shared relations), relfilenode, fork number. */
    public record Fork(long tablespace, long database, long relfilenode, int fork) {
    }

    /** What the summaries say, per fork. Block bitmaps are kept per 1 GB segment file. */
    public static final class Changes {
        private final Map<Fork, Map<Integer, BitSet>> modified = new HashMap<>();
        private final Map<Fork, Long> limits = new HashMap<>();
        private final Set<List<Long>> createdDatabases = new HashSet<>();
        private long blocks;
        private final List<String> summaries = new ArrayList<>();

        /** Whether the database directory (tablespace, database) was created within the range: nothing in it is old. */
        public boolean databaseCreated(long tablespace, long database) {
            return createdDatabases.contains(List.of(tablespace, database));
        }

        /** The smallest length (in blocks) the fork was cut to within the range, or {@link Long#MAX_VALUE}. */
        public long limit(Fork f) {
            return limits.getOrDefault(f, Long.MAX_VALUE);
        }

        /** The modified blocks of segment {@code segment} of the fork, as offsets within the segment; null when none. */
        public BitSet modified(Fork f, int segment) {
            Map<Integer, BitSet> s = modified.get(f);
            return s == null ? null : s.get(segment);
        }

        /** How many modified blocks the summaries name, over all forks. */
        public long blocks() {
            return blocks;
        }

        /** How many forks have modified blocks or a limit. */
        public int forks() {
            Set<Fork> all = new HashSet<>(modified.keySet());
            all.addAll(limits.keySet());
            return all.size();
        }

        /** The summaries read, as "TLI START..END". */
        public List<String> summaries() {
            return summaries;
        }

        void mark(Fork f, long block) {
            int segment = (int) (block / Page.BLOCKS_PER_SEGMENT);
            int offset = (int) (block % Page.BLOCKS_PER_SEGMENT);
            BitSet bits = modified.computeIfAbsent(f, k -> new HashMap<>()).computeIfAbsent(segment, k -> new BitSet());
            if (!bits.get(offset)) {
                bits.set(offset);
                blocks++;
            }
        }

        void limit(Fork f, long block) {
            limits.merge(f, block, Math::min);
        }

        void created(long tablespace, long database) {
            createdDatabases.add(List.of(tablespace, database));
        }
    }

    /** The summaries' answer: usable changes, or why they cannot be used. */
    public sealed interface Outcome permits Usable, Unusable {
    }

    public record Usable(Changes changes) implements Outcome {
    }

    public record Unusable(String reason) implements Outcome {
    }

    private WalSummaries() {
    }

    /** Why a server of {@code versionNum} (server_version_num) has no WAL summaries to read; null when it keeps them. */
    public static String noneKept(int versionNum) {
        return versionNum < 170000 ? "PostgreSQL " + versionNum / 10000 + " keeps no WAL summaries (17 and later do)" : null;
    }

    /**
     * The changes between {@code from} (a reference backup's start) and {@code to} (this backup's
     * start) on timeline {@code timeline}, once the summarizer has reached {@code to} (waiting up
     * to {@code wait} for it). Only for a server that keeps summaries: the caller asks
     * {@link #noneKept} first, so that it can say why it does not read them before it says that it
     * reads them.
     */
    public static Outcome read(Connection conn, int timeline, Lsn from, Lsn to, Duration wait) {
        try {
            if (!"on".equals(Db.queryString(conn, "SHOW summarize_wal"))) {
                return new Unusable("summarize_wal is off on the server ('pgstrata wal setup --apply' turns it on)");
            }
            String reached = waitForSummarizer(conn, timeline, to, wait);
            if (reached != null) {
                return new Unusable(reached);
            }
            List<Lsn[]> ranges = new ArrayList<>();
            try (PreparedStatement ps = conn.prepareStatement("SELECT start_lsn::text, end_lsn::text FROM pg_available_wal_summaries() "
                    + "WHERE tli = ? AND end_lsn > ?::pg_lsn AND start_lsn < ?::pg_lsn")) {
                ps.setLong(1, timeline);
                ps.setString(2, from.toString());
                ps.setString(3, to.toString());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        ranges.add(new Lsn[] {Lsn.parse(rs.getString(1)), Lsn.parse(rs.getString(2))});
                    }
                }
            }
            // In LSN order, compared as numbers: the text form sorts "0/10000000" before "0/FC000028".
            ranges.sort(java.util.Comparator.comparing((Lsn[] r) -> r[0]).thenComparing(r -> r[1]));
            String gap = gap(ranges, from, to, timeline);
            if (gap != null) {
                return new Unusable(gap);
            }
            Changes changes = new Changes();
            boolean autoCommit = conn.getAutoCommit();
            conn.setAutoCommit(false); // so that the driver streams the rows through a cursor
            try {
                for (Lsn[] r : ranges) {
                    readContents(conn, timeline, r[0], r[1], changes);
                    changes.summaries.add(timeline + " " + r[0] + ".." + r[1]);
                }
                conn.commit();
            } finally {
                conn.setAutoCommit(autoCommit);
            }
            return new Usable(changes);
        } catch (SQLException e) {
            if ("42501".equals(e.getSQLState())) {
                return new Unusable("the backup's role may not read WAL summaries (GRANT EXECUTE ON FUNCTION pg_available_wal_summaries(), "
                        + "pg_wal_summary_contents(bigint, pg_lsn, pg_lsn), pg_get_wal_summarizer_state() to it, or back up as a superuser)");
            }
            return new Unusable("reading WAL summaries failed: " + e.getMessage().split("\n")[0]);
        }
    }

    /** Null when the summaries (sorted by start) cover {@code from..to} without a gap; otherwise what is missing. */
    static String gap(List<Lsn[]> ranges, Lsn from, Lsn to, int timeline) {
        Lsn covered = from;
        for (Lsn[] r : ranges) {
            if (covered.isBefore(r[0])) {
                break;
            }
            if (covered.isBefore(r[1])) {
                covered = r[1];
            }
        }
        if (covered.isBefore(to)) {
            return "the server's WAL summaries on timeline " + timeline + " cover " + from + ".." + to + " only up to " + covered
                    + " (summarize_wal was off for a while, or wal_summary_keep_time removed older summaries)";
        }
        return null;
    }

    private static void readContents(Connection conn, int timeline, Lsn start, Lsn end, Changes changes) throws SQLException {
        String sql = "SELECT reltablespace, reldatabase, relfilenode, relforknumber, relblocknumber, is_limit_block "
                + "FROM pg_wal_summary_contents(?, ?::pg_lsn, ?::pg_lsn)";
        try (PreparedStatement ps = conn.prepareStatement(sql)) {
            ps.setFetchSize(50_000);
            ps.setLong(1, timeline);
            ps.setString(2, start.toString());
            ps.setString(3, end.toString());
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long tablespace = rs.getLong(1);
                    long database = rs.getLong(2);
                    long relfilenode = rs.getLong(3);
                    if (relfilenode == 0) {
                        // The entry for a database as a whole: it was created (copied from a template) in the range.
                        changes.created(tablespace, database);
                        continue;
                    }
                    Fork f = new Fork(tablespace, database, relfilenode, rs.getInt(4));
                    long block = rs.getLong(5);
                    if (rs.getBoolean(6)) {
                        changes.limit(f, block);
                    } else {
                        changes.mark(f, block);
                    }
                }
            }
        }
    }

    /** Null once the summarizer has summarized up to {@code to} on {@code timeline}; otherwise why it did not. */
    private static String waitForSummarizer(Connection conn, int timeline, Lsn to, Duration wait) throws SQLException {
        long deadline = System.nanoTime() + wait.toNanos();
        String at = "nothing";
        while (true) {
            try (var st = conn.createStatement();
                 ResultSet rs = st.executeQuery("SELECT summarized_tli, summarized_lsn::text FROM pg_get_wal_summarizer_state()")) {
                rs.next();
                long tli = rs.getLong(1);
                Lsn lsn = Lsn.parse(rs.getString(2));
                if (tli == timeline && !lsn.isBefore(to)) {
                    return null;
                }
                at = lsn + " on timeline " + tli;
            }
            if (System.nanoTime() > deadline) {
                return "the WAL summarizer had not summarized up to " + to + " on timeline " + timeline + " after " + wait.toSeconds()
                        + " s (it was at " + at + ")";
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return "interrupted while waiting for the WAL summarizer";
            }
        }
    }
}
