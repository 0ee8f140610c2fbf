package org.pgstrata.it;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgClient;

/**
 * pg_dump and pg_dumpall as a proof of a restore that is independent of pgstrata and of
 * {@link ClusterContent}: it sees the schema, every object's definition, owners and grants,
 * comments, sequences, large objects and database settings, which the row hash does not. The
 * dumps are plain SQL, normalised only where a correct restore legitimately differs:
 * <ul>
 * <li>the rows of each COPY block are sorted: a logical restore (and a logical differential
 * above all) loads the same rows in another physical order, which COPY shows as is;</li>
 * <li>the key of the restrict and unrestrict meta-commands, which pg_dump (15.14 and later) draws at random for each
 * dump;</li>
 * <li>a tablespace's LOCATION: a physical restore puts the tablespace inside the copy's
 * pg_tblspc, wherever it was on the source;</li>
 * <li>for a database dumped alone ({@link #database}), its name: a logical restore goes into a
 * database of another name, and {@code \connect} lines, which spell the name as a connection
 * string, are dropped; and the order of the columns in COPY blocks (they are put in name order,
 * each row's fields with them): pg_restore makes an inheritance child with its parent's columns
 * first, so a column added to the parent after the child's own ones comes before them in the
 * restore (pg_dump keeps the order only in binary-upgrade mode);</li>
 * <li>on request ({@link #withoutSequenceValues}), the values in setval() lines, for restores that
 * replay WAL past the point the dump was taken at a quiet moment: WAL records a sequence 32 values
 * ahead, so a recovery that ends after a nextval shows the logged value (PostgreSQL documents
 * that sequences can skip values after a crash); the caller checks those values apart, with that
 * allowance.</li>
 * </ul>
 * Both dumps must come from the same pg_dump (the machine's, LogicalSupport's).
 */
final class Dumps {
    private static final Pattern TABLESPACE_LOCATION = Pattern.compile("^(CREATE TABLESPACE .* LOCATION )'.*';$");
    private static final Pattern SETVAL = Pattern.compile("^(SELECT pg_catalog\\.setval\\('.*', )(-?\\d+)(, (?:true|false)\\);)$");

    private Dumps() {
    }

    /** pg_dumpall of the whole cluster, roles and tablespaces included, without unlogged tables' rows (a physical restore empties them). */
    static String cluster(LocalCluster c) throws IOException {
        Path pgDumpAll = LogicalSupport.pgDump().program().resolveSibling("pg_dumpall");
        return normalise(run(List.of(pgDumpAll.toString(), "--no-password", "--no-unlogged-table-data"), c, "postgres"), null);
    }

    /** pg_dump of database {@code db} with its properties (--create: settings, comment, owner), its name replaced. */
    static String database(LocalCluster c, String db) throws IOException {
        return normalise(run(List.of(LogicalSupport.pgDump().program().toString(), "--no-password", "--create"), c, db), db);
    }

    private static String run(List<String> cmd, LocalCluster c, String db) throws IOException {
        Path out = Files.createTempFile("pgstrata-dump-", ".sql");
        Path err = Files.createTempFile("pgstrata-dump-", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile());
            pb.environment().clear();
            pb.environment().putAll(PgClient.libpqEnv(PgSupport.conn(c).withDbname(db), PgSupport.env()));
            Process p = pb.start();
            if (!p.waitFor(300, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(cmd.get(0) + " did not finish in 300 s");
            }
            if (p.exitValue() != 0) {
                throw new IOException(String.join(" ", cmd) + " of " + c.pgdata() + " (database " + db + ") failed: " + Files.readString(err));
            }
            return Files.readString(out, StandardCharsets.UTF_8);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    static String normalise(String dump, String database) {
        List<String> out = new ArrayList<>();
        List<String> rows = null;
        int[] order = null;
        for (String line : dump.split("\n", -1)) {
            if (rows != null) {
                if (line.equals("\\.")) {
                    if (order != null) {
                        for (int i = 0; i < rows.size(); i++) {
                            rows.set(i, permute(rows.get(i).split("\t", -1), order));
                        }
                    }
                    Collections.sort(rows);
                    out.addAll(rows);
                    out.add(line);
                    rows = null;
                } else {
                    rows.add(line);
                }
                continue;
            }
            if (line.startsWith("COPY ") && line.endsWith(" FROM stdin;")) {
                rows = new ArrayList<>();
                order = null;
                int open = line.indexOf(" (");
                if (database != null && open > 0 && line.endsWith(") FROM stdin;")) {
                    List<String> columns = columns(line.substring(open + 2, line.length() - ") FROM stdin;".length()));
                    List<String> sorted = new ArrayList<>(columns);
                    Collections.sort(sorted);
                    order = new int[columns.size()];
                    for (int i = 0; i < order.length; i++) {
                        order[i] = columns.indexOf(sorted.get(i));
                    }
                    line = line.substring(0, open + 2) + String.join(", ", sorted) + ") FROM stdin;";
                }
            }
            if (line.startsWith("\\restrict ") || line.startsWith("\\unrestrict ")) {
                line = line.substring(0, line.indexOf(' ')) + " (key)";
            }
            Matcher m = TABLESPACE_LOCATION.matcher(line);
            if (m.matches()) {
                line = m.group(1) + "'(where the cluster keeps it)';";
            }
            if (database != null) {
                if (line.startsWith("\\connect ")) {
                    continue;
                }
                line = line.replace(Zoo.q(database), "\"(the database)\"").replace(database, "(the database)");
            }
            out.add(line);
        }
        return String.join("\n", out);
    }

    /** A COPY column list split at the commas between names (quoted names may hold commas). */
    private static List<String> columns(String list) {
        List<String> out = new ArrayList<>();
        StringBuilder cur = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < list.length(); i++) {
            char ch = list.charAt(i);
            if (ch == '"') {
                quoted = !quoted;
            }
            if (ch == ',' && !quoted) {
                out.add(cur.toString().trim());
                cur.setLength(0);
            } else {
                cur.append(ch);
            }
        }
        out.add(cur.toString().trim());
        return out;
    }

    private static String permute(String[] fields, int[] order) {
        if (fields.length != order.length) {
            return String.join("\t", fields); // not a row of this table's shape: left as it is, to show in a difference
        }
        String[] out = new String[order.length];
        for (int i = 0; i < order.length; i++) {
            out[i] = fields[order[i]];
        }
        return String.join("\t", out);
    }

    /** The dump with every setval() value replaced by a mark (the caller compares the sequences apart: {@link Zoo#sequences}). */
    static String withoutSequenceValues(String dump) {
        StringBuilder out = new StringBuilder();
        for (String line : dump.split("\n", -1)) {
            Matcher m = SETVAL.matcher(line);
            out.append(m.matches() ? m.group(1) + "(value)" + m.group(3) : line).append('\n');
        }
        return out.toString();
    }

    /**
     * Where two normalised dumps differ, for a failure message: the lines only one of them has
     * (at most {@code max} of each), or where the order first differs; empty when they are equal.
     */
    static List<String> differences(String expected, String actual, int max) {
        if (expected.equals(actual)) {
            return List.of();
        }
        String[] e = expected.split("\n", -1);
        String[] a = actual.split("\n", -1);
        Map<String, Integer> count = new HashMap<>();
        for (String l : e) {
            count.merge(l, 1, Integer::sum);
        }
        for (String l : a) {
            count.merge(l, -1, Integer::sum);
        }
        List<String> out = new ArrayList<>();
        List<String> missing = new ArrayList<>();
        List<String> extra = new ArrayList<>();
        Map<String, Integer> left = new HashMap<>(count);
        for (String l : e) {
            if (left.getOrDefault(l, 0) > 0) {
                missing.add(l);
                left.merge(l, -1, Integer::sum);
            }
        }
        for (String l : a) {
            if (left.getOrDefault(l, 0) < 0) {
                extra.add(l);
                left.merge(l, 1, Integer::sum);
            }
        }
        // Lines that tell something first: blank lines, comment dashes and SET lines say little alone.
        java.util.Comparator<String> telling = java.util.Comparator.comparing(l -> l.isBlank() || l.equals("--") || l.startsWith("SET "));
        missing.sort(telling);
        extra.sort(telling);
        if (!missing.isEmpty()) {
            out.add(missing.size() + " line(s) of the source's dump missing from the restore's, e.g.:");
            missing.stream().limit(max).map(l -> "  - " + abbreviate(l)).forEach(out::add);
        }
        if (!extra.isEmpty()) {
            out.add(extra.size() + " line(s) in the restore's dump that the source's lacks, e.g.:");
            extra.stream().limit(max).map(l -> "  + " + abbreviate(l)).forEach(out::add);
        }
        if (missing.isEmpty() && extra.isEmpty()) {
            int i = 0;
            while (i < Math.min(e.length, a.length) && e[i].equals(a[i])) {
                i++;
            }
            out.add("the same lines in another order, from line " + (i + 1) + ": source '" + abbreviate(e[i]) + "', restore '"
                    + abbreviate(a[i]) + "'");
        }
        return out;
    }

    private static String abbreviate(String line) {
        return line.length() > 200 ? line.substring(0, 200) + "... (" + line.length() + " characters)" : line;
    }
}
