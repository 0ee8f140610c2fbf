package org.pgstrata.it;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.pgstrata.cli.CliRun;
import org.pgstrata.db.LocalCluster;

/**
 * libpq takes a list of hosts (PGHOST=db1,db2, -h db1,db2) and tries each on the port given.
 * pgstrata passed the list into the JDBC URL as "db1,db2:PORT", where pgjdbc gives db1 its own
 * default port, 5432: with PGHOST=127.0.0.1,192.0.2.1 and PGPORT=P psql connected to 127.0.0.1:P,
 * but pgstrata tried 127.0.0.1:5432 (another cluster's, if one listens there) and then failed with
 * exit 16 naming the second host.
 */
class HostListPortTest extends PgTest {
    @Test
    void aHostList_usesThePortForEveryHost_asLibpqDoes() throws Exception {
        Path repo = dir.resolve("repo");
        LocalCluster c = pg.archiving("data", repo);
        String port = Integer.toString(PgSupport.conn(c).port());
        // -D makes check prove that the server reached is this cluster (its system identifier), not one on 5432.
        CliRun check = CliRun.run("check", "-q", "--check-timeout", "30", "-D", c.pgdata().toString(), "--repo", repo.toString(),
                "--host", "127.0.0.1,192.0.2.1", "--port", port);
        assertThat(check.exitCode()).as(check.err()).isZero();
        assertThat(check.out()).contains("ok: connection: connected to postgres@127.0.0.1,192.0.2.1:" + port + "/postgres",
                "ok: pgdata: " + c.pgdata() + " is the data directory of the server");
    }
}
