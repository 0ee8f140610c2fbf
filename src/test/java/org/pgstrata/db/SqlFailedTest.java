package org.pgstrata.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.SQLException;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ErrorCode;
import org.pgstrata.api.PgstrataException;

/** How a failed statement's SQLSTATE becomes an exit code: a server that went away is a lost connection (16), whatever the way. */
class SqlFailedTest {

    @Test
    void aServerShuttingDownOrCrashing_isALostConnection_notAServerFailure() {
        for (String state : new String[] {"57P01", "57P02", "57P03", "08006"}) {
            PgstrataException p = Db.sqlFailed("stopping the backup (pg_backup_stop)", new SQLException("FATAL: terminating connection", state));
            assertThat(p.code()).as(state).isEqualTo(ErrorCode.CONNECTION);
            assertThat(p.hint()).as(state).doesNotContain("server log");
        }
        PgstrataException other = Db.sqlFailed("reading x", new SQLException("ERROR: permission denied", "42501"));
        assertThat(other.code()).isEqualTo(ErrorCode.SERVER);
    }
}
