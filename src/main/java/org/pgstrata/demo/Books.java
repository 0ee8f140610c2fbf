package org.pgstrata.demo;

import java.io.IOException;
import java.io.Reader;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Arrays;
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

    /** Result of a populate: rows inserted and how fast. */
    public record PopulateResult(long rows, double seconds) {
        public double rowsPerSecond() {
            return seconds > 0 ? rows / seconds : rows;
        }
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
     * rows to update and delete, and inserts the same new rows.
     */
    public static MutateResult mutate(Connection c, int inserts, int updates, int deletes, long seed) throws SQLException, IOException {
        boolean auto = c.getAutoCommit();
        c.setAutoCommit(false);
        try {
            long[] ids = allIds(c);
            SplittableRandom rnd = new SplittableRandom(seed);
            // Partial Fisher-Yates: the first (updates + deletes) slots become a random sample.
            int pick = (int) Math.min(ids.length, (long) updates + deletes);
            for (int i = 0; i < pick; i++) {
                int j = i + rnd.nextInt(ids.length - i);
                long t = ids[i];
                ids[i] = ids[j];
                ids[j] = t;
            }
            int nUpdate = Math.min(updates, pick);
            long[] toUpdate = Arrays.copyOfRange(ids, 0, nUpdate);
            long[] toDelete = Arrays.copyOfRange(ids, nUpdate, pick);
            long updated;
            long deleted;
            try (PreparedStatement ps = c.prepareStatement(
                    "UPDATE books SET price = price + 1.00, title = title || ' (revised)', updated_at = now() WHERE id = ANY (?)")) {
                ps.setArray(1, c.createArrayOf("bigint", box(toUpdate)));
                updated = ps.executeUpdate();
            }
            try (PreparedStatement ps = c.prepareStatement("DELETE FROM books WHERE id = ANY (?)")) {
                ps.setArray(1, c.createArrayOf("bigint", box(toDelete)));
                deleted = ps.executeUpdate();
            }
            long inserted = 0;
            if (inserts > 0) {
                StringBuilder sb = new StringBuilder(inserts * 90);
                long base = seed * 1_000_000_000L + (ids.length == 0 ? 0 : Arrays.stream(ids).max().getAsLong());
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

    private static long[] allIds(Connection c) throws SQLException {
        long count;
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT count(*) FROM books")) {
            rs.next();
            count = rs.getLong(1);
        }
        long[] ids = new long[(int) count];
        int i = 0;
        try (Statement st = c.createStatement()) {
            st.setFetchSize(50_000);
            try (ResultSet rs = st.executeQuery("SELECT id FROM books ORDER BY id")) {
                while (rs.next() && i < ids.length) {
                    ids[i++] = rs.getLong(1);
                }
            }
        }
        return i == ids.length ? ids : Arrays.copyOf(ids, i);
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
