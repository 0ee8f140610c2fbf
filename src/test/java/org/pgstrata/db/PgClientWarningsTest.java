package org.pgstrata.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Which of pg_dump's and pg_restore's stderr lines are passed on as warnings: a warning and its detail and hint, not an error's. */
class PgClientWarningsTest {
    @Test
    void warningsAndTheirDetails_notErrorsOrTheirs() {
        List<String> got = new ArrayList<>();
        PgClient.Warnings w = new PgClient.Warnings(got::add);
        for (String l : List.of("pg_restore: warning: archive items not in correct section order",
                "pg_restore: detail: the first one", "pg_restore: error: could not execute query: ERROR:  boom",
                "pg_restore: detail: not a warning's", "Command was: CREATE TABLE t ();", "pg_dump: hint: not after a warning either",
                "pg_dump: warning: typtype of data type \"mood\" appears to be invalid", "pg_dump: hint: its hint")) {
            w.line(l);
        }
        assertThat(got).containsExactly("pg_restore: warning: archive items not in correct section order", "pg_restore: detail: the first one",
                "pg_dump: warning: typtype of data type \"mood\" appears to be invalid", "pg_dump: hint: its hint");
    }
}
