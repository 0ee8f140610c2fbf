package org.pgstrata.compare;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.ToDoubleFunction;
import org.pgstrata.api.CompareResult;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;
import org.pgstrata.api.StrategyRow;

/**
 * What compare shows besides its table: the figures as one JSON-ready map, a recommendation drawn
 * from them, and a self-contained HTML report (inline SVG charts, no scripts or links to fetch).
 * Every number drawn in a chart is also in its element's data-value attribute, exactly as in the
 * JSON, so that the report can be checked against the measurements.
 */
public final class CompareReport {
    /**
     * Okabe and Ito's colour-blind-safe palette (yellow left out: too pale on white), one per
     * strategy, each line also dashed its own way, so that no two series rely on colour alone.
     */
    private static final String[] COLOURS = {"#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000"};
    private static final String[] DASHES = {"", "7 3", "2 3", "10 3 2 3", "4 4", "1 2", "12 4"};
    /** The restore points' bars: three more of the same palette. */
    private static final String[] POINT_COLOURS = {"#0072B2", "#E69F00", "#009E73"};

    private CompareReport() {
    }

    /** The whole result, as the JSON that `compare --json` prints and the report embeds. */
    public static Map<String, Object> asMap(CompareResult r) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("pgMajor", r.pgMajor());
        m.put("pgVersion", r.pgVersion());
        m.put("pgstrataVersion", r.pgstrataVersion());
        m.put("seed", r.seed());
        m.put("startedAt", r.startedAt());
        m.put("rows", r.rows());
        m.put("batchSize", r.batchSize());
        m.put("cycles", r.cycles());
        Map<String, Object> change = new LinkedHashMap<>();
        change.put("inserts", r.changePerCycle().inserts());
        change.put("updates", r.changePerCycle().updates());
        change.put("deletes", r.changePerCycle().deletes());
        m.put("changePerCycle", change);
        m.put("populateSeconds", Compare.seconds(r.populateSeconds()));
        m.put("databaseBytes", r.databaseBytes());
        List<Map<String, Object>> rows = new ArrayList<>();
        for (StrategyRow s : r.strategies()) {
            Map<String, Object> row = new LinkedHashMap<>();
            row.put("strategy", s.strategy());
            row.put("key", s.key());
            row.put("backupSeconds", s.backupSeconds());
            row.put("repositoryBytes", s.repositoryBytes());
            row.put("restoreSeconds", s.restoreSeconds());
            row.put("restorePoints", s.restorePoints());
            row.put("granularity", s.granularity());
            row.put("restoreIncludes", s.key().startsWith("logical") ? LOGICAL_RESTORE_INCLUDES : PHYSICAL_RESTORE_INCLUDES);
            if ("pitr".equals(s.key())) {
                row.put("repositoryNote", PITR_REPOSITORY_NOTE);
            }
            row.put("restoreMeasuredTo", RESTORE_MEASURED_TO);
            row.put("rpoSeconds", s.rpoSeconds());
            row.put("recoveryPoint", recoveryPoint(s));
            row.put("recoveryPointExplained", recoveryPointExplained(s, r));
            row.put("verified", s.verified());
            if (!s.verified()) {
                row.put("reason", s.reason());
            }
            row.put("backupSecondsPerCycle", s.backupSecondsPerCycle());
            row.put("repositoryBytesPerCycle", s.repositoryBytesPerCycle());
            List<Map<String, Object>> restores = new ArrayList<>();
            for (StrategyRow.Restore x : s.restores()) {
                Map<String, Object> e = new LinkedHashMap<>();
                e.put("point", x.point());
                e.put("target", x.target());
                e.put("seconds", x.seconds());
                e.put("proven", x.proven());
                restores.add(e);
            }
            row.put("restores", restores);
            rows.add(row);
        }
        m.put("strategies", rows);
        m.put("recommendation", recommendation(r));
        return m;
    }

    private static List<StrategyRow> measured(CompareResult r) {
        return r.strategies().stream().filter(s -> s.verified() && s.repositoryBytesPerCycle().size() > 1).toList();
    }

    /** Bytes the repository grew by per cycle after the first backup. */
    static double growth(StrategyRow s) {
        List<Long> b = s.repositoryBytesPerCycle();
        return (double) (b.get(b.size() - 1) - b.get(0)) / (b.size() - 1);
    }

    static Optional<Double> restoreSeconds(StrategyRow s, String point) {
        return s.restores().stream().filter(x -> x.point().equals(point)).map(StrategyRow.Restore::seconds).findFirst();
    }

    private static Optional<StrategyRow> best(List<StrategyRow> rows, ToDoubleFunction<StrategyRow> f) {
        return rows.stream().min(Comparator.comparingDouble(f));
    }

    private static Optional<StrategyRow> byKey(List<StrategyRow> rows, String key) {
        return rows.stream().filter(s -> key.equals(s.key())).findFirst();
    }

    /**
     * What the figures say, in a few sentences: which strategy grows the repository least, which
     * restores the latest and the oldest point fastest, and what each trade costs, at this change
     * rate. Nothing here is fixed text about a strategy: every choice and number comes from the run.
     */
    /**
     * A strategy's recovery point objective: what a failure just before its next backup loses.
     * Only the WAL archive (base backup + WAL) keeps that down to the WAL not yet archived; every
     * backup-only strategy loses everything committed since its last backup.
     */
    public static String recoveryPoint(StrategyRow s) {
        return "pitr".equals(s.key()) ? "unarchived WAL" : "backup interval";
    }

    /** {@link #recoveryPoint} in a sentence, for the JSON and the report. */
    static String recoveryPointExplained(StrategyRow s, CompareResult r) {
        return "pitr".equals(s.key())
                ? String.format(Locale.ROOT, "the WAL not yet archived when the failure comes: here %.2f s from a commit to its WAL archived "
                        + "(archive_timeout, or a 16 MiB segment filling, bounds it in production)", s.rpoSeconds())
                : String.format(Locale.ROOT, "every change committed since the last backup: one backup interval (in this run one cycle, %s, "
                        + "%.2f s; in production the time between backups)", r.changePerCycle(), s.rpoSeconds());
    }

    /** Where every restore time ends, physical or logical: the same mark for every row. */
    static final String RESTORE_MEASURED_TO = "read-write";
    static final String PHYSICAL_RESTORE_INCLUDES = "writing the files, starting the server and recovering, until it accepts read-write queries";
    static final String LOGICAL_RESTORE_INCLUDES = "creating the database and pg_restore into the running server, until it accepts read-write queries";
    static final String PITR_REPOSITORY_NOTE = "the cluster archives its WAL from its creation, so this repository also holds the WAL of initdb "
            + "and of the initial load, archived before its base backup; its growth per cycle is what compares with the others";

    /** Below this much data, fixed costs (JVM and server starts, recovery) dominate the seconds measured. */
    static final long SMALL_DATABASE = 1L << 30;

    public static List<String> recommendation(CompareResult r) {
        List<StrategyRow> rows = measured(r);
        List<String> out = new ArrayList<>();
        if (rows.isEmpty()) {
            out.add("No strategy was measured and proven, so there is nothing to recommend.");
            return out;
        }
        if (r.databaseBytes() < SMALL_DATABASE) {
            out.add("Scale: at " + bytes(r.databaseBytes()) + " of data, fixed costs (starting the JVM and the server, recovery) weigh most in "
                    + "these seconds, so the ranking may change on a larger database; run 'pgstrata advise' against the real one.");
        }
        String rate = r.changePerCycle().inserts() + " inserts, " + r.changePerCycle().updates() + " updates and " + r.changePerCycle().deletes()
                + " deletes per cycle on " + r.rows() + " rows";
        StrategyRow cheapest = best(rows, CompareReport::growth).orElseThrow();
        StringBuilder storage = new StringBuilder("Storage: at " + rate + ", " + cheapest.strategy() + " grows the repository least, "
                + bytes(growth(cheapest)) + " per cycle");
        byKey(rows, "full").filter(f -> f != cheapest && growth(cheapest) > 0).ifPresent(f -> storage.append(String.format(Locale.ROOT,
                "; a full backup every cycle adds %s, %.1f times as much", bytes(growth(f)), growth(f) / growth(cheapest))));
        out.add(storage.append('.').toString());
        List<StrategyRow> withLatest = rows.stream().filter(s -> restoreSeconds(s, "latest").isPresent()).toList();
        if (!withLatest.isEmpty()) {
            StrategyRow fast = best(withLatest, s -> restoreSeconds(s, "latest").orElseThrow()).orElseThrow();
            StrategyRow slow = withLatest.stream().max(Comparator.comparingDouble(s -> restoreSeconds(s, "latest").orElseThrow())).orElseThrow();
            out.add(String.format(Locale.ROOT, "Latest point: %s restores it fastest, in %.2f s; %s takes longest, %.2f s.", fast.strategy(),
                    restoreSeconds(fast, "latest").orElseThrow(), slow.strategy(), restoreSeconds(slow, "latest").orElseThrow()));
            StrategyRow oldFast = best(withLatest, s -> restoreSeconds(s, "oldest").orElse(Double.MAX_VALUE)).orElseThrow();
            out.add(String.format(Locale.ROOT, "Oldest point (%d cycles back): %s restores it fastest, in %.2f s.", r.cycles(), oldFast.strategy(),
                    restoreSeconds(oldFast, "oldest").orElse(0.0)));
        }
        Optional<StrategyRow> reverse = byKey(rows, "reverse");
        Optional<StrategyRow> incr = byKey(rows, "incr");
        if (reverse.isPresent() && incr.isPresent()) {
            StrategyRow rv = reverse.get();
            StrategyRow in = incr.get();
            out.add(String.format(Locale.ROOT, "Reverse delta against the incremental chain: the latest point in %.2f s against %.2f s, "
                            + "for %s per cycle against %s; each backup took %.2f s against %.2f s.",
                    restoreSeconds(rv, "latest").orElse(0.0), restoreSeconds(in, "latest").orElse(0.0), bytes(growth(rv)), bytes(growth(in)),
                    rv.backupSeconds(), in.backupSeconds()));
        }
        byKey(rows, "pitr").ifPresent(p -> out.add(String.format(Locale.ROOT,
                "Only base backup + WAL reaches any moment, not just the backups: it restored a time between two cycles in %.2f s, "
                        + "and its WAL grew the repository by %s per cycle.", restoreSeconds(p, "between").orElse(0.0), bytes(growth(p)))));
        byKey(rows, "logical-diff").ifPresent(l -> out.add(String.format(Locale.ROOT,
                "The logical differential (restorable into another database or major version) grew the repository by %s per cycle "
                        + "and restored the latest point in %.2f s.", bytes(growth(l)), restoreSeconds(l, "latest").orElse(0.0))));
        // the best balance: the least sum of storage and latest-restore time, each relative to the best of its kind
        double minGrowth = Math.max(1, rows.stream().mapToDouble(CompareReport::growth).min().orElse(1));
        double minLatest = Math.max(1e-3, withLatest.stream().mapToDouble(s -> restoreSeconds(s, "latest").orElseThrow()).min().orElse(1));
        Optional<StrategyRow> balanced = best(withLatest, s -> Math.max(1, growth(s)) / minGrowth + restoreSeconds(s, "latest").orElseThrow() / minLatest);
        StrategyRow fastest = withLatest.isEmpty() ? cheapest : best(withLatest, s -> restoreSeconds(s, "latest").orElseThrow()).orElseThrow();
        out.add("So: " + cheapest.strategy() + " when storage matters most; " + fastest.strategy() + " when the latest restore must be fastest"
                + balanced.map(b -> "; " + b.strategy() + " for the best balance of the two (storage per cycle and latest restore, each against the best)")
                .orElse("") + ".");
        // The recovery point weighs before either: a strategy that loses a backup interval of commits fits only where that loss is acceptable.
        Optional<StrategyRow> pitr = byKey(rows, "pitr");
        if (pitr.isPresent()) {
            out.add("Recovery point: only " + pitr.get().strategy() + " loses no more than the WAL not yet archived when the server fails; "
                    + "every other strategy loses all that was committed since its last backup (a backup interval). Where that loss is not "
                    + "acceptable, take " + pitr.get().strategy() + ", with any of the others for its base backups.");
        } else {
            out.add("Recovery point: every strategy measured here loses all that was committed since its last backup (a backup interval); "
                    + "archiving WAL (the pitr row) is what bounds that loss to seconds.");
        }
        return out;
    }

    static String bytes(double b) {
        String[] units = {"B", "KiB", "MiB", "GiB", "TiB"};
        int u = 0;
        double v = b;
        while (Math.abs(v) >= 1024 && u < units.length - 1) {
            v /= 1024;
            u++;
        }
        return u == 0 ? String.format(Locale.ROOT, "%.0f B", v) : String.format(Locale.ROOT, "%.1f %s", v, units[u]);
    }

    /** Writes DIR/index.html (atomically), creating DIR; returns the file. */
    public static Path write(CompareResult r, Path dir) {
        try {
            Files.createDirectories(dir);
            Path file = dir.resolve("index.html");
            Path temp = dir.resolve("index.html.tmp");
            Files.writeString(temp, html(r), StandardCharsets.UTF_8);
            Files.move(temp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            return file;
        } catch (IOException e) {
            throw new PgstrataException(ErrorCode.IO, "cannot write the report into " + dir + ": " + e.getMessage(), "choose a writable --report directory");
        }
    }

    static String html(CompareResult r) {
        StringBuilder h = new StringBuilder();
        h.append("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>pgstrata compare</title>\n<style>\n")
                .append("body{font-family:system-ui,sans-serif;margin:2em;max-width:1000px;color:#222}table{border-collapse:collapse}")
                .append("td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}")
                .append("svg{background:#fafafa;border:1px solid #ddd;margin:0.5em 0}.axis{font-size:11px;fill:#555}.legend{font-size:12px}")
                .append("</style></head><body>\n");
        h.append("<h1>Backup strategies, measured</h1>\n<p>").append(esc(String.format(Locale.ROOT,
                "PostgreSQL %s, pgstrata %s, seed %d. %d books (batches of %d), then %d cycles of %s, each followed by a backup. Started %s.",
                r.pgVersion(), r.pgstrataVersion(), r.seed(), r.rows(), r.batchSize(), r.cycles(), r.changePerCycle(), r.startedAt())))
                .append("</p>\n");
        h.append("<p>Run again with: <code>").append(esc(String.format(Locale.ROOT,
                "pgstrata compare --rows %d --batch-size %d --cycles %d --change %s --seed %d --pg-version %d", r.rows(), r.batchSize(),
                r.cycles(), r.changePerCycle(), r.seed(), r.pgMajor()))).append("</code></p>\n");
        h.append("<h2>Recommendation</h2>\n<ul>\n");
        for (String line : recommendation(r)) {
            h.append("<li>").append(esc(line)).append("</li>\n");
        }
        h.append("</ul>\n<h2>Table</h2>\n<table><tr><th>strategy</th><th>backup s (mean)</th><th>repository</th><th>restore s latest</th>")
                .append("<th>restore s oldest</th><th>restore s between</th><th>restore points</th><th>data lost on failure</th><th>verified</th></tr>\n");
        for (StrategyRow s : r.strategies()) {
            h.append("<tr><td>").append(esc(s.strategy())).append("</td><td>").append(s.backupSeconds()).append("</td><td>")
                    .append(esc(bytes(s.repositoryBytes()))).append("</td>");
            for (String p : List.of("latest", "oldest", "between")) {
                h.append("<td>").append(restoreSeconds(s, p).map(String::valueOf).orElse("-")).append("</td>");
            }
            h.append("<td>").append(s.granularity() == null ? "-" : s.restorePoints() + ", " + esc(s.granularity())).append("</td><td title=\"")
                    .append(esc(recoveryPointExplained(s, r))).append("\">").append(esc(recoveryPoint(s))).append("</td><td>")
                    .append(s.verified() ? "yes" : "no: " + esc(s.reason())).append("</td></tr>\n");
        }
        h.append("</table>\n<p>Restore seconds: physical rows, " + esc(PHYSICAL_RESTORE_INCLUDES) + "; logical rows, " + esc(LOGICAL_RESTORE_INCLUDES)
                + ". Base backup + WAL: " + esc(PITR_REPOSITORY_NOTE) + ". Data lost on failure: what a failure just before the next backup "
                + "loses.</p>\n");
        List<StrategyRow> drawn = r.strategies().stream().filter(s -> !s.repositoryBytesPerCycle().isEmpty()).toList();
        h.append("<h2>Repository size after each cycle</h2>\n");
        lineChart(h, "repository", drawn, r.cycles(), s -> s.repositoryBytesPerCycle().stream().map(Long::doubleValue).toList(), true);
        h.append("<h2>Backup seconds per cycle</h2>\n");
        lineChart(h, "backup", drawn, r.cycles(), StrategyRow::backupSecondsPerCycle, false);
        h.append("<h2>Restore seconds per restore point</h2>\n");
        barChart(h, drawn);
        h.append("<h2>Figures (JSON)</h2>\n<script type=\"application/json\" id=\"figures\">")
                .append(json(r).replace("</", "<\\/")).append("</script>\n<p>The same figures as <code>pgstrata compare --json</code>, in the page's source.</p>\n");
        h.append("</body></html>\n");
        return h.toString();
    }

    private static String json(CompareResult r) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().writerWithDefaultPrettyPrinter().writeValueAsString(asMap(r));
        } catch (IOException e) {
            return "{}";
        }
    }

    private static final int W = 880;
    private static final int H = 300;
    private static final int LEFT = 80;
    private static final int RIGHT = 290;
    private static final int TOP = 20;
    private static final int BOTTOM = 40;

    private static String colour(StrategyRow s, List<StrategyRow> all) {
        return COLOURS[all.indexOf(s) % COLOURS.length];
    }

    private static String dash(StrategyRow s, List<StrategyRow> all) {
        return DASHES[all.indexOf(s) % DASHES.length];
    }

    /** A step of 1, 2 or 5 times a power of ten, the least at least {@code raw}. */
    static double niceStep(double raw) {
        if (!(raw > 0)) {
            return 1;
        }
        double power = Math.pow(10, Math.floor(Math.log10(raw)));
        for (double m : new double[] {1, 2, 5, 10}) {
            if (m * power >= raw * (1 - 1e-9)) {
                return m * power;
            }
        }
        return 10 * power;
    }

    /** The unit a byte axis up to {@code max} is labelled in: 1, 1024 (KiB), 1024^2 (MiB) or 1024^3 (GiB). */
    private static double byteUnit(double max) {
        double unit = 1;
        while (max / unit >= 1024 && unit < Math.pow(1024, 3)) {
            unit *= 1024;
        }
        return unit;
    }

    private static String unitName(double unit) {
        return unit >= Math.pow(1024, 3) ? "GiB" : unit >= Math.pow(1024, 2) ? "MiB" : unit >= 1024 ? "KiB" : "B";
    }

    /** An axis from 0 to at least {@code max} in "nice" steps (1-2-5), about four of them: {step, top}, in the data's units. */
    static double[] niceAxis(double max, boolean asBytes) {
        double unit = asBytes ? byteUnit(max) : 1;
        double step = niceStep(max / unit / 4) * unit;
        double top = Math.ceil(max / step - 1e-9) * step;
        return new double[] {step, top <= 0 ? step : top};
    }

    private static void lineChart(StringBuilder h, String chart, List<StrategyRow> rows, int cycles,
                                  java.util.function.Function<StrategyRow, List<Double>> values, boolean asBytes) {
        double highest = rows.stream().flatMap(s -> values.apply(s).stream()).mapToDouble(Double::doubleValue).max().orElse(1);
        double[] axis = niceAxis(highest <= 0 ? 1 : highest, asBytes);
        double max = axis[1];
        int plotW = W - LEFT - RIGHT;
        int plotH = H - TOP - BOTTOM;
        h.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(W).append("\" height=\"").append(H).append("\" data-chart-id=\"")
                .append(chart).append("\">\n");
        axes(h, axis, asBytes, plotW, plotH, asBytes ? "repository size" : "seconds");
        for (int c = 0; c <= cycles; c++) {
            double x = LEFT + (cycles == 0 ? 0 : (double) plotW * c / cycles);
            h.append(String.format(Locale.ROOT, "<text class=\"axis\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%d</text>\n", x, TOP + plotH + 15, c));
        }
        h.append(String.format(Locale.ROOT, "<text class=\"axis\" x=\"%d\" y=\"%d\" text-anchor=\"middle\">cycle (0: the first backup)</text>\n",
                LEFT + plotW / 2, H - 5));
        int legend = 0;
        for (StrategyRow s : rows) {
            List<Double> v = values.apply(s);
            String colour = colour(s, rows);
            StringBuilder points = new StringBuilder();
            for (int c = 0; c < v.size(); c++) {
                double x = LEFT + (cycles == 0 ? 0 : (double) plotW * c / cycles);
                double y = TOP + plotH - plotH * v.get(c) / max;
                points.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
            }
            String dash = dash(s, rows);
            h.append("<polyline fill=\"none\" stroke=\"").append(colour).append("\" stroke-width=\"2\"")
                    .append(dash.isEmpty() ? "" : " stroke-dasharray=\"" + dash + "\"").append(" points=\"").append(points.toString().trim())
                    .append("\"/>\n");
            for (int c = 0; c < v.size(); c++) {
                double x = LEFT + (cycles == 0 ? 0 : (double) plotW * c / cycles);
                double y = TOP + plotH - plotH * v.get(c) / max;
                String value = asBytes ? Long.toString(Math.round(v.get(c))) : Double.toString(v.get(c));
                h.append(String.format(Locale.ROOT, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\" data-chart=\"%s\" data-strategy=\"%s\" "
                                + "data-cycle=\"%d\" data-value=\"%s\"><title>%s, cycle %d: %s</title></circle>\n", x, y, colour, chart, esc(s.key()), c,
                        value, esc(s.strategy()), c, asBytes ? bytes(v.get(c)) : value + " s"));
            }
            // The legend's sample is the line itself: colour and dashes.
            h.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"%s/>"
                            + "<text class=\"legend\" x=\"%d\" y=\"%d\">%s</text>\n", W - RIGHT + 10, TOP + 10 + legend * 18, W - RIGHT + 40,
                    TOP + 10 + legend * 18, colour, dash.isEmpty() ? "" : " stroke-dasharray=\"" + dash + "\"", W - RIGHT + 46, TOP + 14 + legend * 18,
                    esc(s.strategy())));
            legend++;
        }
        h.append("</svg>\n");
    }

    private static void axes(StringBuilder h, double[] axis, boolean asBytes, int plotW, int plotH, String title) {
        double step = axis[0];
        double max = axis[1];
        h.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n", LEFT, TOP, LEFT, TOP + plotH));
        h.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#888\"/>\n", LEFT, TOP + plotH, LEFT + plotW, TOP + plotH));
        double unit = asBytes ? byteUnit(max) : 1;
        int ticks = (int) Math.round(max / step);
        for (int i = 0; i <= ticks; i++) {
            double v = step * i;
            double y = TOP + plotH - plotH * v / max;
            String label = asBytes ? trim(v / unit) + " " + unitName(unit) : trim(v) + " s";
            h.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#eee\"/>", LEFT, y, LEFT + plotW, y));
            h.append(String.format(Locale.ROOT, "<text class=\"axis\" x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", LEFT - 5, y + 4, esc(label)));
        }
        h.append(String.format(Locale.ROOT, "<text class=\"axis\" transform=\"translate(14,%d) rotate(-90)\" text-anchor=\"middle\">%s</text>\n",
                TOP + plotH / 2, esc(title)));
    }

    /** {@code text} in lines of at most {@code width} characters, broken at spaces (a longer word keeps its own line). */
    public static List<String> wrap(String text, int width) {
        List<String> lines = new ArrayList<>();
        StringBuilder line = new StringBuilder();
        for (String word : text.split(" ")) {
            if (line.length() > 0 && line.length() + 1 + word.length() > width) {
                lines.add(line.toString());
                line.setLength(0);
            }
            line.append(line.length() > 0 ? " " : "").append(word);
        }
        if (line.length() > 0) {
            lines.add(line.toString());
        }
        return lines;
    }

    /** A tick's number without trailing zeros: 0.25, 2, 1.5. */
    private static String trim(double v) {
        return java.math.BigDecimal.valueOf(Math.round(v * 1000) / 1000.0).stripTrailingZeros().toPlainString();
    }

    private static void barChart(StringBuilder h, List<StrategyRow> rows) {
        List<String> points = List.of("latest", "oldest", "between");
        double highest = rows.stream().flatMap(s -> s.restores().stream()).mapToDouble(StrategyRow.Restore::seconds).max().orElse(1);
        double[] axis = niceAxis(highest <= 0 ? 1 : highest, false);
        double max = axis[1];
        int plotW = W - LEFT - RIGHT;
        int plotH = H - TOP - BOTTOM;
        h.append("<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(W).append("\" height=\"").append(H + 45)
                .append("\" data-chart-id=\"restore\">\n");
        axes(h, axis, false, plotW, plotH, "restore seconds");
        double group = rows.isEmpty() ? plotW : (double) plotW / rows.size();
        double bar = group / (points.size() + 1);
        String[] shades = POINT_COLOURS;
        for (int g = 0; g < rows.size(); g++) {
            StrategyRow s = rows.get(g);
            for (StrategyRow.Restore x : s.restores()) {
                int p = Math.max(0, points.indexOf(x.point()));
                double left = LEFT + g * group + bar / 2 + p * bar;
                double height = plotH * x.seconds() / max;
                h.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" data-chart=\"restore\" "
                                + "data-strategy=\"%s\" data-point=\"%s\" data-value=\"%s\"><title>%s, %s point (%s): %s s%s</title></rect>\n", left,
                        TOP + plotH - height, bar * 0.9, height, shades[p], esc(s.key()), x.point(), Double.toString(x.seconds()), esc(s.strategy()),
                        x.point(), esc(x.target()), Double.toString(x.seconds()), x.proven() ? ", proven" : ", NOT proven"));
            }
            // The strategy's name, as in the table and the other charts' legends, in lines that fit under its bars.
            double cx = LEFT + g * group + group / 2;
            h.append(String.format(Locale.ROOT, "<text class=\"axis\" x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">", cx, TOP + plotH + 14));
            List<String> lines = wrap(s.strategy(), Math.max(6, (int) (group / 6.5)));
            for (int i = 0; i < lines.size(); i++) {
                h.append(String.format(Locale.ROOT, "<tspan x=\"%.1f\" dy=\"%s\">%s</tspan>", cx, i == 0 ? "0" : "1.1em", esc(lines.get(i))));
            }
            h.append("</text>\n");
        }
        for (int p = 0; p < points.size(); p++) {
            h.append(String.format(Locale.ROOT, "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" fill=\"%s\"/><text class=\"legend\" x=\"%d\" y=\"%d\">%s</text>\n",
                    W - RIGHT + 15, TOP + 5 + p * 18, shades[p], W - RIGHT + 30, TOP + 14 + p * 18, points.get(p) + " point"));
        }
        h.append("</svg>\n");
    }

    private static String esc(String s) {
        return s == null ? "" : s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
