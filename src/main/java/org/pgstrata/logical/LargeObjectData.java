package org.pgstrata.logical;

import java.io.DataInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.pgstrata.manifest.Checksum;

/**
 * Large objects as a logical backup reads and stores them. Content is read with lo_get, which
 * opens the object for reading and so sees the transaction's snapshot, as pg_dump's reads do;
 * up to {@link #FIRST_READ} bytes of {@link #BATCH} objects in one query, then the bigger ones
 * in chunks. A full keeps an index (oid, size, XXH64 of the content) beside its archive; a
 * differential compares with it and keeps the content of the objects that differ (see
 * {@link org.pgstrata.manifest.LogicalManifest.LargeObjects} for both formats).
 */
final class LargeObjectData {
    private LargeObjectData() {
    }

    /** What the first query reads of each object; an object that fills it is read again, whole, in {@link #CHUNK}s. */
    static final int FIRST_READ = 256 * 1024;
    static final int CHUNK = 1 << 20;
    /** Objects per first query: at most 16 MiB held at once. */
    private static final int BATCH = 64;
    private static final byte[] MAGIC = "PGSLO1\n".getBytes(StandardCharsets.US_ASCII);

    /** One object at the snapshot: its size and content hash, and its content when the first read held all of it. */
    record Seen(long oid, long size, String hash, byte[] content) {
    }

    interface Visitor {
        void accept(Seen s) throws IOException, SQLException;
    }

    interface Bytes {
        void write(byte[] b, int off, int len) throws IOException, SQLException;
    }

    /** Hands every large object to {@code v}, in oid order; returns how many there are. */
    static long scan(Connection c, Visitor v) throws SQLException, IOException {
        List<Long> oids = new ArrayList<>();
        try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT oid::bigint FROM pg_largeobject_metadata ORDER BY oid")) {
            while (rs.next()) {
                oids.add(rs.getLong(1));
            }
        }
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT u.o, lo_get(u.o::oid, 0, ?) FROM unnest(?::bigint[]) WITH ORDINALITY AS u(o, i) ORDER BY u.i")) {
            for (int from = 0; from < oids.size(); from += BATCH) {
                ps.setInt(1, FIRST_READ);
                ps.setArray(2, c.createArrayOf("bigint", oids.subList(from, Math.min(oids.size(), from + BATCH)).toArray()));
                // read whole (no fetch size), so that the bigger objects can be read on the same connection meanwhile
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        long oid = rs.getLong(1);
                        byte[] b = rs.getBytes(2);
                        if (b.length < FIRST_READ) {
                            v.accept(new Seen(oid, b.length, Checksum.of(b), b));
                        } else {
                            Checksum hash = new Checksum();
                            long size = read(c, oid, hash::update);
                            v.accept(new Seen(oid, size, hash.hex(), null));
                        }
                    }
                }
            }
        }
        return oids.size();
    }

    /** Reads one object whole, in chunks, into {@code out}; returns its size. */
    static long read(Connection c, long oid, Bytes out) throws SQLException, IOException {
        long size = 0;
        try (PreparedStatement ps = c.prepareStatement("SELECT lo_get(?::bigint::oid, ?, ?)")) {
            while (true) {
                ps.setLong(1, oid);
                ps.setLong(2, size);
                ps.setInt(3, CHUNK);
                byte[] b;
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    b = rs.getBytes(1);
                }
                out.write(b, 0, b.length);
                size += b.length;
                if (b.length < CHUNK) {
                    return size;
                }
            }
        }
    }

    static byte[] indexLine(Seen s) {
        return (s.oid() + " " + s.size() + " " + s.hash() + "\n").getBytes(StandardCharsets.US_ASCII);
    }

    /** A full's index, in oid order. */
    record Index(long[] oids, long[] sizes, String[] hashes) {
        static final Index EMPTY = new Index(new long[0], new long[0], new String[0]);

        static Index parse(byte[] content) {
            String[] lines = new String(content, StandardCharsets.US_ASCII).split("\n");
            int n = content.length == 0 ? 0 : lines.length;
            long[] oids = new long[n];
            long[] sizes = new long[n];
            String[] hashes = new String[n];
            for (int i = 0; i < n; i++) {
                String[] f = lines[i].split(" ");
                if (f.length != 3 || f[2].length() != 16 || (i > 0 && Long.parseLong(f[0]) <= oids[i - 1])) {
                    throw new IllegalArgumentException("line " + (i + 1) + " is not 'oid size hash' in oid order: " + lines[i]);
                }
                oids[i] = Long.parseLong(f[0]);
                sizes[i] = Long.parseLong(f[1]);
                hashes[i] = f[2];
            }
            return new Index(oids, sizes, hashes);
        }

        int find(long oid) {
            return Arrays.binarySearch(oids, oid);
        }

        boolean same(int at, Seen s) {
            return sizes[at] == s.size() && hashes[at].equals(s.hash());
        }
    }

    /** Writes objects' content in the differential's format; the header goes before the first object. */
    static final class Writer {
        private final Bytes out;
        private boolean started;

        Writer(Bytes out) {
            this.out = out;
        }

        /** One object: its content from the first read, or read again from the server. */
        void write(Connection c, Seen s) throws IOException, SQLException {
            if (!started) {
                out.write(MAGIC, 0, MAGIC.length);
                started = true;
            }
            out.write(ByteBuffer.allocate(8).putLong(s.oid()).array(), 0, 8);
            if (s.content() != null) {
                chunk(s.content(), 0, s.content().length);
            } else {
                long size = read(c, s.oid(), this::chunk);
                if (size != s.size()) {
                    throw new IllegalStateException("large object " + s.oid() + " read " + size + " bytes, then " + s.size() + " in the same snapshot");
                }
            }
            out.write(new byte[4], 0, 4);
        }

        private void chunk(byte[] b, int off, int len) throws IOException, SQLException {
            if (len > 0) {
                out.write(ByteBuffer.allocate(4).putInt(len).array(), 0, 4);
                out.write(b, off, len);
            }
        }
    }

    /** What a restore does with each object of a differential's content stream. */
    interface Target {
        void begin(long oid) throws IOException, SQLException;

        void chunk(byte[] b, int len) throws IOException, SQLException;

        void end(long oid) throws IOException, SQLException;
    }

    /** Reads a content stream written by {@link Writer}; returns the number of objects. */
    static long readData(InputStream raw, Target t) throws IOException, SQLException {
        DataInputStream in = new DataInputStream(raw);
        byte[] magic = new byte[MAGIC.length];
        in.readFully(magic);
        if (!Arrays.equals(magic, MAGIC)) {
            throw new IOException("not a large object stream (no PGSLO1 header)");
        }
        long n = 0;
        byte[] buf = new byte[CHUNK];
        while (true) {
            long oid;
            try {
                oid = in.readLong();
            } catch (EOFException e) {
                return n;
            }
            t.begin(oid);
            int len;
            while ((len = in.readInt()) > 0) {
                if (len > buf.length) {
                    buf = new byte[len];
                }
                in.readFully(buf, 0, len);
                t.chunk(buf, len);
            }
            if (len < 0) {
                throw new IOException("large object " + oid + ": a chunk of " + len + " bytes");
            }
            t.end(oid);
            n++;
        }
    }
}
