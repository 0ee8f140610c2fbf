package org.pgstrata.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.it.PgSupport;
import picocli.CommandLine;

/** The command line itself: help for every command, the cluster lifecycle, the demo, and compare. */
class CommandLineTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @TempDir
    Path dir;

    @Test
    void everyCommand_hasHelpThatExplainsItsOptions() {
        List<List<String>> paths = new ArrayList<>();
        collect(Cli.commandLine(), new ArrayList<>(), paths);
        assertThat(paths).extracting(p -> String.join(" ", p)).contains("cluster init", "cluster start", "cluster stop", "cluster status",
                "demo init", "demo populate", "demo mutate", "demo checksum", "repo init", "backup", "list", "restore", "verify", "compare",
                "wal push", "wal get", "wal setup", "wal receive", "restore-point", "info", "advise", "delete");
        for (List<String> p : paths) {
            List<String> args = new ArrayList<>(p);
            args.add("--help");
            CliRun r = CliRun.run(args.toArray(String[]::new));
            assertThat(r.exitCode()).as(String.join(" ", args)).isZero();
            assertThat(r.out()).as(String.join(" ", args)).contains("Usage: pgstrata " + String.join(" ", p));
        }
        CliRun root = CliRun.run("--help");
        assertThat(root.out()).contains("backup", "restore", "compare", "Exit codes");
    }

    private static void collect(CommandLine cl, List<String> prefix, List<List<String>> out) {
        for (var e : cl.getSubcommands().entrySet()) {
            if (e.getKey().equals("help")) {
                continue;
            }
            List<String> p = new ArrayList<>(prefix);
            p.add(e.getKey());
            out.add(p);
            collect(e.getValue(), p, out);
        }
    }

    @Test
    void unknownOption_isAUsageError_withAHint() {
        CliRun r = CliRun.run("backup", "--repo", "/tmp/x", "--pgdata", "/tmp/y", "--no-such-option");
        assertThat(r.exitCode()).isEqualTo(ErrorCode.USAGE.exitCode());
        assertThat(r.err()).contains("--no-such-option").contains("hint: see 'pgstrata backup --help'");
    }

    @Test
    void clusterLifecycle_andTheBooksDemo_throughTheCommandLine() throws Exception {
        Path pgdata = dir.resolve("pg");
        String port = Integer.toString(org.pgstrata.db.LocalCluster.freePort());
        CliRun init = CliRun.run("cluster", "init", "-q", "--pgdata", pgdata.toString(), "--port", port, "--pg-version", "16", "--start");
        try {
            assertThat(init.exitCode()).as(init.err()).isZero();
            assertThat(init.out()).contains("PostgreSQL 16").contains("started on 127.0.0.1:" + port);

            JsonNode status = JSON.readTree(CliRun.run("cluster", "status", "--pgdata", pgdata.toString(), "--json").out());
            assertThat(status.get("running").asBoolean()).isTrue();
            assertThat(status.get("port").asInt()).isEqualTo(Integer.parseInt(port));
            assertThat(status.get("pgMajor").asInt()).isEqualTo(16);

            // The settings a new cluster promises.
            try (var c = org.pgstrata.db.Db.connect(new org.pgstrata.api.ConnectionSettings("127.0.0.1", Integer.parseInt(port), "postgres", "postgres", null))) {
                assertThat(org.pgstrata.db.Db.queryString(c, "SHOW data_checksums")).isEqualTo("on");
                assertThat(org.pgstrata.db.Db.queryString(c, "SHOW wal_level")).isEqualTo("replica");
                assertThat(org.pgstrata.db.Db.queryString(c, "SHOW listen_addresses")).isEqualTo("127.0.0.1");
                assertThat(org.pgstrata.db.Db.queryString(c, "SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).isEqualTo("t");
            }

            assertThat(CliRun.run("demo", "init", "-q", "-p", port).exitCode()).isZero();
            CliRun pop = CliRun.run("demo", "populate", "2500", "--batch-size", "1000", "-q", "-p", port);
            assertThat(pop.out()).contains("inserted 2500 rows");
            CliRun mut = CliRun.run("demo", "mutate", "--insert", "10", "--update", "20", "--delete", "30", "--seed", "5", "-q", "-p", port);
            assertThat(mut.out()).contains("inserted 10, updated 20, deleted 30 rows");
            JsonNode sum = JSON.readTree(CliRun.run("demo", "checksum", "--json", "-p", port).out());
            assertThat(sum.get("tables").get(0).get("table").asText()).isEqualTo("public.books");
            assertThat(sum.get("tables").get(0).get("rows").asLong()).isEqualTo(2500 + 10 - 30);
            assertThat(sum.get("tables").get(0).get("hash").asText()).hasSize(32);
            assertThat(sum.get("combined").asText()).hasSize(64);

            assertThat(CliRun.run("cluster", "stop", "--pgdata", pgdata.toString()).exitCode()).isZero();
            CliRun stopped = CliRun.run("cluster", "status", "--pgdata", pgdata.toString());
            assertThat(stopped.exitCode()).isEqualTo(3);
            assertThat(stopped.out()).startsWith("stopped");
        } finally {
            CliRun.run("cluster", "stop", "--pgdata", pgdata.toString());
        }
    }

    @Test
    void mutate_withTheSameSeed_onTheSameContent_changesTheSameRows() throws Exception {
        try (PgSupport pg = new PgSupport(dir)) {
            var a = pg.start("a", 17);
            var b = pg.start("b", 17);
            String hashA = null;
            for (var c : List.of(a, b)) {
                String port = Integer.toString(PgSupport.conn(c).port());
                CliRun.run("demo", "init", "-q", "-p", port);
                CliRun.run("demo", "populate", "3000", "-q", "-p", port);
                CliRun.run("demo", "mutate", "--update", "100", "--delete", "50", "--seed", "7", "-q", "-p", port);
                // created_at/updated_at differ between runs; compare the rows without them
                try (var conn = PgSupport.connect(c)) {
                    String h = org.pgstrata.db.Db.queryString(conn,
                            "SELECT md5(string_agg(concat_ws('|', id, title, author, isbn, published_year, price), ',' ORDER BY id)) FROM books");
                    if (hashA == null) {
                        hashA = h;
                    } else {
                        assertThat(h).isEqualTo(hashA);
                    }
                }
            }
        }
    }

    @Test
    void compare_measuresEveryStrategy_andTheReportDrawsTheSameFigures() throws Exception {
        Path report = dir.resolve("report");
        CliRun r = CliRun.run("compare", "-q", "--rows", "5000", "--batch-size", "1000", "--cycles", "2", "--change", "insert=200,update=200,delete=100",
                "--seed", "7", "--json", "--report", report.toString(), "--work-dir", dir.resolve("work").toString());
        assertThat(r.exitCode()).as(r.err()).isZero();
        JsonNode json = JSON.readTree(r.out());
        assertThat(json.get("seed").asLong()).isEqualTo(7);
        assertThat(json.get("cycles").asInt()).isEqualTo(2);
        assertThat(json.get("pgVersion").asText()).isNotBlank();
        assertThat(json.get("pgstrataVersion").asText()).isNotBlank();
        // CI installs Debian's pg_dump, and compare picks the bundled server it can dump: the logical rows run too
        assertThat(json.get("pgMajor").asInt()).isEqualTo(org.pgstrata.it.LogicalSupport.serverMajor());
        List<String> names = new ArrayList<>();
        for (JsonNode s : json.get("strategies")) {
            names.add(s.get("strategy").asText());
            assertThat(s.get("verified").asBoolean()).as(s.toString()).isTrue();
            assertThat(s.has("reason")).isFalse();
            assertThat(s.get("restorePoints").asInt()).isEqualTo(3);
            assertThat(s.get("backupSecondsPerCycle")).hasSize(3);
            assertThat(s.get("repositoryBytesPerCycle")).hasSize(3);
            assertThat(s.get("repositoryBytes").asLong()).isEqualTo(s.get("repositoryBytesPerCycle").get(2).asLong()).isPositive();
            assertThat(s.get("backupSeconds").asDouble()).isPositive();
            List<String> points = new ArrayList<>();
            for (JsonNode x : s.get("restores")) {
                points.add(x.get("point").asText());
                assertThat(x.get("proven").asBoolean()).isTrue();
                assertThat(x.get("seconds").asDouble()).isPositive();
            }
            assertThat(points).containsExactlyElementsOf(s.get("key").asText().equals("pitr") ? List.of("latest", "oldest", "between")
                    : List.of("latest", "oldest"));
        }
        assertThat(names).containsExactly("full (physical)", "incremental chain", "differential", "reverse delta",
                "base backup + WAL (point in time)", "logical full (pg_dump)", "logical differential");
        assertThat(json.get("recommendation").size()).isGreaterThanOrEqualTo(3);
        // Each row says what a failure loses, and the recommendation weighs it and says the data set is small.
        for (JsonNode s : json.get("strategies")) {
            assertThat(s.get("recoveryPoint").asText()).isEqualTo(s.get("key").asText().equals("pitr") ? "unarchived WAL" : "backup interval");
            assertThat(s.get("restoreIncludes").asText()).endsWith("until it accepts read-write queries")
                    .startsWith(s.get("key").asText().startsWith("logical") ? "creating the database" : "writing the files, starting the server");
            assertThat(s.has("repositoryNote")).isEqualTo(s.get("key").asText().equals("pitr"));
            assertThat(s.get("restoreMeasuredTo").asText()).as("the same mark for every row").isEqualTo("read-write");
            assertThat(s.get("rpoSeconds").asDouble()).isPositive();
        }
        assertThat(json.get("recommendation").toString()).contains("Recovery point: only base backup + WAL (point in time) loses no more than")
                .contains("Scale: at ");

        // the report: three charts whose every drawn value is the JSON's figure, and nothing to fetch
        String html = java.nio.file.Files.readString(report.resolve("index.html"));
        assertThat(html).contains("data-chart-id=\"repository\"", "data-chart-id=\"backup\"", "data-chart-id=\"restore\"")
                .doesNotContain("<script src", "<link ", "https://");
        java.util.Map<String, String> drawn = new java.util.HashMap<>();
        var m = java.util.regex.Pattern.compile("data-chart=\"(\\w+)\" data-strategy=\"([\\w-]+)\" data-(?:cycle|point)=\"(\\w+)\" data-value=\"([^\"]+)\"")
                .matcher(html);
        while (m.find()) {
            drawn.put(m.group(1) + "/" + m.group(2) + "/" + m.group(3), m.group(4));
        }
        java.util.Map<String, String> measured = new java.util.HashMap<>();
        for (JsonNode s : json.get("strategies")) {
            String key = s.get("key").asText();
            for (int c = 0; c < 3; c++) {
                measured.put("repository/" + key + "/" + c, s.get("repositoryBytesPerCycle").get(c).asText());
                measured.put("backup/" + key + "/" + c, s.get("backupSecondsPerCycle").get(c).asText());
            }
            for (JsonNode x : s.get("restores")) {
                measured.put("restore/" + key + "/" + x.get("point").asText(), x.get("seconds").asText());
            }
        }
        assertThat(drawn).hasSize(measured.size());
        drawn.forEach((k, v) -> assertThat(Double.parseDouble(v)).as(k).isEqualTo(Double.parseDouble(measured.get(k))));
        for (JsonNode line : json.get("recommendation")) {
            assertThat(html).contains(line.asText().replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;"));
        }
        assertThat(dir.resolve("work")).doesNotExist();

        // Seven series, each its own colour and dash pattern, in the repository chart.
        var series = java.util.regex.Pattern.compile("<polyline fill=\"none\" stroke=\"(#[0-9A-Fa-f]{6})\" stroke-width=\"2\"(?: stroke-dasharray=\"([^\"]*)\")?")
                .matcher(html.substring(html.indexOf("data-chart-id=\"repository\""), html.indexOf("data-chart-id=\"backup\"")));
        java.util.Set<String> colours = new java.util.HashSet<>();
        java.util.Set<String> dashes = new java.util.HashSet<>();
        while (series.find()) {
            colours.add(series.group(1));
            dashes.add(String.valueOf(series.group(2)));
        }
        assertThat(colours).as("seven distinct colours").hasSize(7);
        assertThat(dashes).as("seven distinct dash patterns").hasSize(7);
        rendersInABrowser(report.resolve("index.html"));
    }

    /**
     * The report in a real browser (Debian's Chromium, headless; .ci/run installs it): it renders
     * its three charts in their colours, and the console stays silent.
     */
    private void rendersInABrowser(Path page) throws Exception {
        Path shot = dir.resolve("report.png");
        Process p = new ProcessBuilder("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--enable-logging=stderr", "--v=0",
                "--hide-scrollbars", "--window-size=1100,2600", "--screenshot=" + shot, page.toUri().toString()).redirectErrorStream(true).start();
        String log = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(log).as("the browser's console").doesNotContain(":CONSOLE").doesNotContain("Uncaught");
        assertThat(shot).as(log).exists();
        java.awt.image.BufferedImage img = javax.imageio.ImageIO.read(shot.toFile());
        assertThat(img.getWidth()).isEqualTo(1100);
        // Every colour of the palette that the charts use shows up in the picture.
        java.util.Set<Integer> seen = new java.util.HashSet<>();
        for (int y = 0; y < img.getHeight(); y++) {
            for (int x = 0; x < img.getWidth(); x++) {
                seen.add(img.getRGB(x, y) & 0xFFFFFF);
            }
        }
        for (int rgb : new int[] {0x0072B2, 0xE69F00, 0x009E73, 0xD55E00, 0xCC79A7, 0x56B4E9, 0x000000}) {
            assertThat(seen).as("colour %06X rendered", rgb).contains(rgb);
        }
        Process dom = new ProcessBuilder("chromium", "--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", page.toUri().toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD).start();
        String rendered = new String(dom.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(dom.waitFor(120, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        assertThat(rendered.split("<svg", -1).length - 1).as("charts in the rendered page").isEqualTo(3);
    }

    @Test
    void compare_refusesAnUnknownStrategyAndABadChange() {
        CliRun unknown = CliRun.run("compare", "--strategies", "full,weekly");
        assertThat(unknown.exitCode()).isEqualTo(ErrorCode.USAGE.exitCode());
        assertThat(unknown.err()).contains("unknown strategy 'weekly'").contains("logical-diff");
        CliRun change = CliRun.run("compare", "--change", "insert=ten");
        assertThat(change.exitCode()).isEqualTo(ErrorCode.USAGE.exitCode());
        assertThat(change.err()).contains("invalid --change part 'insert=ten'");
    }
}
