package org.pgstrata.demo;

import java.io.IOException;
import java.io.Reader;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.OptionalDouble;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import org.pgstrata.api.Progress;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;

/**
 * The books workload: a table shaped like a small shop's catalogue, filled fast with COPY and
 * changed reproducibly, so that every strategy can be measured on the same data.
 */
public final class Books {
    public static final String SCHEMA = """
            CREATE TABLE IF NOT EXISTS books (
                id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
                title          text          NOT NULL,
                author         text          NOT NULL,
                isbn           text          NOT NULL,
                published_year integer,
                price          numeric(10,2),
                created_at     timestamptz   NOT NULL DEFAULT now(),
                updated_at     timestamptz   NOT NULL DEFAULT now()
            );
            CREATE INDEX IF NOT EXISTS books_author_idx ON books (author);
            """;

    private static final String[] ADJECTIVES = {"Silent", "Crimson", "Hidden", "Broken", "Golden", "Last", "Northern", "Quiet",
        "Burning", "Distant", "Forgotten", "Hollow", "Iron", "Lonely", "Midnight", "Paper", "Restless", "Scarlet", "Wild", "Winter"};
    private static final String[] NOUNS = {"River", "Garden", "Kingdom", "Letters", "Harbor", "Orchard", "Machine", "Voyage",
        "Mountain", "Archive", "Lantern", "Empire", "Island", "Promise", "Shadow", "Station", "Tide", "Valley", "Window", "Year"};
    private static final String[] FIRST = {"Ada", "Bruno", "Clara", "Dmitri", "Elena", "Farah", "Gustav", "Hana", "Ivan", "Jonas",
        "Keiko", "Luis", "Maya", "Nils", "Olga", "Pavel", "Quinn", "Rosa", "Samir", "Tove", "Ugo", "Vera", "Wen", "Yara", "Zoltan"};
    private static final String[] LAST = {"Abbott", "Berg", "Castro", "Dahl", "Eriksen", "Fischer", "Garcia", "Horvat", "Ito", "Jensen",
        "Kowalski", "Lindqvist", "Moreau", "Novak", "Okafor", "Petrov", "Quist", "Rossi", "Silva", "Tanaka", "Ueda", "Varga",
        "Weber", "Xu", "Young", "Zeller", "Marsh", "Holm", "Brandt", "Costa"};

    private Books() {
    }

    public static void init(Connection c) throws SQLException {
        try (Statement st = c.createStatement()) {
            st.execute(SCHEMA);
        }
    }

    /**
     * Result of a populate: rows inserted and how fast (the COPY alone), and how long the
     * {@link #settle} after it took, or empty when it was skipped.
     */
    public record PopulateResult(long rows, double seconds, OptionalDouble vacuumSeconds) {
        public PopulateResult(long rows, double seconds) {
            this(rows, seconds, OptionalDouble.empty());
        }

        public double rowsPerSecond() {
            return seconds > 0 ? rows / seconds : rows;
        }

        public PopulateResult withVacuum(double vacuumSeconds) {
            return new PopulateResult(rows, seconds, OptionalDouble.of(vacuumSeconds));
        }
    }

    /** The VACUUM that {@link #settle} runs, as printed. */
    public static final String SETTLE = "VACUUM (FREEZE, ANALYZE) books";

    /**
     * Settles freshly loaded books, as {@code pgbench -i} ends its load: {@link #SETTLE}. Until
     * something has set a new tuple's hint bits, the first reader sets them, and with data
     * checksums each page so touched gets a full-page image and a new LSN: the first incremental
     * after a load would then hold most of the table for a change of a few rows. FREEZE rather
     * than a plain VACUUM because a frozen page stays as it is: the plain one leaves the freezing
     * to a later (anti-wraparound or opportunistic) vacuum that rewrites every page again, inside
     * whichever incremental follows it; it costs the same pass over the table now. Returns seconds.
     */
    public static double settle(Connection c, Progress progress) throws SQLException {
        progress.step("settling the loaded books: " + SETTLE);
        long start = System.nanoTime();
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(true); // VACUUM cannot run inside a transaction block
        try (Statement st = c.createStatement()) {
            st.execute(SETTLE);
        } finally {
            c.setAutoCommit(auto);
        }
        return (System.nanoTime() - start) / 1e9;
    }

    /**
     * Inserts {@code rows} generated books with COPY, {@code batchSize} rows per transaction. A
     * second thread renders the text of the next batch while the server ingests the current one.
     */
    public static PopulateResult populate(Connection c, long rows, int batchSize, long seed, Progress progress)
            throws SQLException, IOException {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batch size must be at least 1");
        }
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(true);
        CopyManager copy = c.unwrap(PGConnection.class).getCopyAPI();
        long start = System.nanoTime();
        long startRow = seed * 1_000_000_000L + currentMaxId(c);
        BlockingQueue<StringBuilder> ready = new ArrayBlockingQueue<>(2);
        long batches = (rows + batchSize - 1) / batchSize;
        Thread producer = new Thread(() -> {
            try {
                SplittableRandom rnd = new SplittableRandom(seed ^ startRow);
                for (long b = 0; b < batches; b++) {
                    long n = Math.min(batchSize, rows - b * batchSize);
                    StringBuilder sb = new StringBuilder((int) n * 90);
                    for (long i = 0; i < n; i++) {
                        appendRow(sb, rnd, startRow + b * batchSize + i);
                    }
                    ready.put(sb);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }, "pgstrata-populate");
        producer.setDaemon(true);
        producer.start();
        long done = 0;
        try {
            for (long b = 0; b < batches; b++) {
                StringBuilder sb = ready.take();
                done += copy.copyIn("COPY books (title, author, isbn, published_year, price) FROM STDIN", new CharSequenceReader(sb));
                progress.advance(done, rows);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        } finally {
            producer.interrupt();
            c.setAutoCommit(auto);
        }
        return new PopulateResult(done, (System.nanoTime() - start) / 1e9);
    }

    private static long currentMaxId(Connection c) throws SQLException {
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT coalesce(max(id), 0) FROM books")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static void appendRow(StringBuilder sb, SplittableRandom rnd, long n) {
        sb.append("The ").append(ADJECTIVES[rnd.nextInt(ADJECTIVES.length)]).append(' ')
                .append(NOUNS[rnd.nextInt(NOUNS.length)]).append(" of ").append(NOUNS[rnd.nextInt(NOUNS.length)])
                .append(", Volume ").append(1 + rnd.nextInt(40)).append('\t');
        sb.append(FIRST[rnd.nextInt(FIRST.length)]).append(' ').append(LAST[rnd.nextInt(LAST.length)]).append('\t');
        appendIsbn(sb, Math.floorMod(n * 7919 + rnd.nextInt(1000), 1_000_000_000L));
        sb.append('\t').append(1900 + rnd.nextInt(126)).append('\t');
        int cents = 500 + rnd.nextInt(14500);
        sb.append(cents / 100).append('.');
        int c = cents % 100;
        if (c < 10) {
            sb.append('0');
        }
        sb.append(c).append('\n');
    }

    /** An ISBN-13 with prefix 978 and a valid check digit. */
    private static void appendIsbn(StringBuilder sb, long body) {
        char[] digits = new char[13];
        digits[0] = '9';
        digits[1] = '7';
        digits[2] = '8';
        String b = Long.toString(body);
        int pad = 9 - b.length();
        for (int i = 0; i < 9; i++) {
            digits[3 + i] = i < pad ? '0' : b.charAt(i - pad);
        }
        int sum = 0;
        for (int i = 0; i < 12; i++) {
            sum += (digits[i] - '0') * (i % 2 == 0 ? 1 : 3);
        }
        digits[12] = (char) ('0' + (10 - sum % 10) % 10);
        sb.append(digits);
    }

    /** Counts of a {@link #mutate} run. */
    public record MutateResult(long inserted, long updated, long deleted) {
    }

    /**
     * A reproducible change in one transaction: the same seed on the same content picks the same
     * rows to update and delete, and inserts the same new rows. It reads the two ends of the
     * primary key and the rows it tries, each by the key, never the whole table: its cost follows
     * the size of the change, and it sets no hint bits on pages it does not change (see
     * {@link #settle}), so the next incremental holds the change and not the table.
     */
    public static MutateResult mutate(Connection c, int inserts, int updates, int deletes, long seed) throws SQLException, IOException {
        if (inserts < 0 || updates < 0 || deletes < 0) {
            throw new IllegalArgumentException("rows to insert, update and delete must be 0 or more");
        }
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            try (Statement st = c.createStatement()) {
                // On a small table the planner would rather read all of it than use the key for a
                // few thousand ids; that read is what this method must not do.
                st.execute("SET LOCAL enable_seqscan = off");
            }
            SplittableRandom rnd = new SplittableRandom(seed);
            long maxId = 0;
            long[] picked = new long[0];
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT min(id), max(id) FROM books")) {
                rs.next();
                long min = rs.getLong(1);
                if (!rs.wasNull()) {
                    maxId = rs.getLong(2);
                    picked = pick(c, (long) updates + deletes, min, maxId, rnd);
                }
            }
            int nUpdate = Math.min(updates, picked.length);
            long updated = byIds(c, "UPDATE books SET price = price + 1.00, title = title || ' (revised)', updated_at = now() WHERE id = ANY (?)",
                    Arrays.copyOfRange(picked, 0, nUpdate));
            long deleted = byIds(c, "DELETE FROM books WHERE id = ANY (?)", Arrays.copyOfRange(picked, nUpdate, picked.length));
            long inserted = 0;
            if (inserts > 0) {
                StringBuilder sb = new StringBuilder(inserts * 90);
                long base = seed * 1_000_000_000L + maxId;
                for (int i = 0; i < inserts; i++) {
                    appendRow(sb, rnd, base + i);
                }
                inserted = c.unwrap(PGConnection.class).getCopyAPI()
                        .copyIn("COPY books (title, author, isbn, published_year, price) FROM STDIN", new CharSequenceReader(sb));
            }
            c.commit();
            return new MutateResult(inserted, updated, deleted);
        } catch (SQLException | IOException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(auto);
        }
    }

    /** Most ids sent to the server in one statement while picking. */
    private static final int ROUND = 10_000;

    /**
     * Up to {@code n} distinct ids of existing rows, in the order picked, drawn at random from
     * [min, max]; an id that no row has (deleted, or skipped by the identity) is a miss, and
     * another is drawn in its place. When misses dominate (a key range left sparse by deletes),
     * the rest are taken in key order from a random point of the range, wrapping round once: a
     * pick always ends, having read about as much of the key as it returns.
     */
    private static long[] pick(Connection c, long n, long min, long max, SplittableRandom rnd) throws SQLException {
        Set<Long> picked = new LinkedHashSet<>();
        long span = max - min + 1; // <= 0: a range wider than a long, walked only
        long budget = span <= 0 ? 0 : Math.min(span / 2, 8 * n + 1_000);
        Set<Long> tried = new HashSet<>();
        long hits = 0;
        try (PreparedStatement ps = c.prepareStatement("SELECT id FROM books WHERE id = ANY (?)")) {
            while (picked.size() < n && tried.size() < budget) {
                // The first round draws as many as are wanted (on a dense range every one hits, and
                // a candidate that is not picked still costs a read); later ones allow for misses.
                long wanted = n - picked.size();
                if (!tried.isEmpty()) {
                    wanted = (long) Math.ceil(wanted / Math.max((double) hits / tried.size(), 0.05) * 1.1) + 16;
                }
                long[] candidates = new long[(int) Math.min(Math.min(ROUND, budget - tried.size()), wanted)];
                for (int i = 0; i < candidates.length; ) {
                    long id = min + rnd.nextLong(span);
                    if (tried.add(id)) {
                        candidates[i++] = id;
                    }
                }
                ps.setArray(1, c.createArrayOf("bigint", box(candidates)));
                Set<Long> existing = new HashSet<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        existing.add(rs.getLong(1));
                    }
                }
                hits += existing.size();
                for (long id : candidates) {
                    if (picked.size() < n && existing.contains(id)) {
                        picked.add(id);
                    }
                }
            }
        }
        if (picked.size() < n) {
            long from = span <= 0 ? min : min + rnd.nextLong(span);
            walk(c, n, from, max, picked);
            if (from > min) {
                walk(c, n, min, from - 1, picked);
            }
        }
        return picked.stream().mapToLong(Long::longValue).toArray();
    }

    /** Adds the ids of [from, to] in key order, skipping those already picked, until there are {@code n}. */
    private static void walk(Connection c, long n, long from, long to, Set<Long> picked) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT id FROM books WHERE id >= ? AND id <= ? ORDER BY id LIMIT ?")) {
            long next = from;
            while (picked.size() < n) {
                int limit = (int) Math.min(ROUND, n - picked.size() + 100);
                ps.setLong(1, next);
                ps.setLong(2, to);
                ps.setInt(3, limit);
                int seen = 0;
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long id = rs.getLong(1);
                        seen++;
                        next = id + 1;
                        if (picked.size() < n) {
                            picked.add(id);
                        }
                    }
                }
                if (seen < limit || next > to || next == Long.MIN_VALUE) {
                    return;
                }
            }
        }
    }

    /** Runs {@code sql} with the ids as its one array parameter; the rows it changed. */
    private static long byIds(Connection c, String sql, long[] ids) throws SQLException {
        if (ids.length == 0) {
            return 0;
        }
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setArray(1, c.createArrayOf("bigint", box(ids)));
            return ps.executeUpdate();
        }
    }

    private static Long[] box(long[] a) {
        Long[] r = new Long[a.length];
        for (int i = 0; i < a.length; i++) {
            r[i] = a[i];
        }
        return r;
    }

    /** A Reader over a CharSequence without copying it into a String first. */
    private static final class CharSequenceReader extends Reader {
        private final CharSequence s;
        private int pos;

        CharSequenceReader(CharSequence s) {
            this.s = s;
        }

        @Override
        public int read(char[] cbuf, int off, int len) {
            if (pos >= s.length()) {
                return -1;
            }
            int n = Math.min(len, s.length() - pos);
            if (s instanceof StringBuilder sb) {
                sb.getChars(pos, pos + n, cbuf, off);
            } else {
                for (int i = 0; i < n; i++) {
                    cbuf[off + i] = s.charAt(pos + i);
                }
            }
            pos += n;
            return n;
        }

        @Override
        public void close() {
        }
    }
}
