package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;
import static org.pgstrata.it.LogicalSupport.query;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;
import org.pgstrata.db.PgBinaries;

/**
 * {@code money} is written and read in the session's lc_monetary: "1.234,56 €" under a German
 * one, "$1,234.56" under C, and neither reads under the other (or, without its symbol, reads a
 * hundred times too large). A cluster made under a German locale has lc_monetary = 'de_DE.UTF-8'
 * in its postgresql.conf; its logical backups could not be restored into a server made under
 * another locale (a move to a new host, a cloud database): pg_restore stopped at the first money
 * value (exit 30), and a differential's rows the same. Backups now write money under
 * lc_monetary = C, and restores read it so, whatever either server's default.
 */
class LogicalMoneyLocaleTest extends PgTest {
    private static final String PROOF = "SELECT count(*) || ' ' || sum(v::numeric) || ' ' || md5(string_agg(id || ':' || v::numeric || ':' || note, ',' ORDER BY id)) FROM m";

    @Test
    void aGermanServersMoney_restoresIntoAServerUnderC() throws Exception {
        // The German locale, made for this test alone (LOCPATH), as a server made under it would have it
        Path locales = PgSupport.germanLocale(dir);

        int major = LogicalSupport.serverMajor();
        LocalCluster german = pg.track(LocalCluster.init(dir.resolve("german"), PgBinaries.resolve(null, major, PgSupport.env()),
                LocalCluster.InitOptions.port(LocalCluster.freePort())));
        german.start(null, Map.of("LOCPATH", locales.toString()));
        PgSupport.sql(german, "ALTER SYSTEM SET lc_monetary = 'de_DE.UTF-8'", "SELECT pg_reload_conf()", "CREATE DATABASE shop");
        LogicalSupport.sql(german, "shop", "CREATE TABLE m (id int PRIMARY KEY, v money DEFAULT 9.99, note text)",
                "INSERT INTO m SELECT g, (g * 1234.56)::numeric::money, 'row ' || g FROM generate_series(1, 500) g");
        assertThat(query(german, "shop", "SELECT v::text FROM m WHERE id = 1")).isEqualTo("1.234,56 €");
        Path repo = dir.resolve("repo");
        String full = CliBackups.logicalBackup(repo, german, "shop", "full").get("id").asText();
        String atFull = query(german, "shop", PROOF);
        LogicalSupport.sql(german, "shop", "UPDATE m SET v = v * 2 WHERE id % 7 = 0", "INSERT INTO m (id, note) VALUES (501, 'default')",
                "DELETE FROM m WHERE id = 3");
        String diff = CliBackups.logicalBackup(repo, german, "shop", "diff").get("id").asText();
        String atDiff = query(german, "shop", PROOF);
        assertThat(atDiff).isNotEqualTo(atFull);

        LocalCluster plain = pg.start("plain", major);
        for (String[] restore : new String[][] {{full, "from_full", atFull}, {diff, "from_diff", atDiff}}) {
            CliRun r = CliRun.run("restore", "-q", "--logical", "--repo", repo.toString(), "--backup", restore[0], "--port",
                    CliBackups.port(plain), "--to-db", restore[1]);
            assertThat(r.exitCode()).as(r.err()).isZero();
            assertThat(query(plain, restore[1], PROOF)).as(restore[1]).isEqualTo(restore[2]);
        }
        // The column's default came back as the same amount
        LogicalSupport.sql(plain, "from_diff", "INSERT INTO m (id, note) VALUES (1000, 'default')");
        assertThat(query(plain, "from_diff", "SELECT v::numeric::text FROM m WHERE id = 1000")).isEqualTo("9.99");
    }
}
