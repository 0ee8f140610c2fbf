package org.pgstrata.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.pgstrata.api.ConnectionSettings;

/** libpq's password-file rules, line by line (the file itself is read on a real server in LibpqConventionsTest). */
class PgPassTest {
    private static final ConnectionSettings TCP = new ConnectionSettings("db.example", 5433, "alice", "books", null);
    private static final ConnectionSettings SOCKET = new ConnectionSettings("/var/run/postgresql", 5432, "postgres", "postgres", null);

    @Test
    void firstMatchingLineWins_andStarMatchesAnything() {
        List<String> lines = List.of("# comment", "", "db.example:5432:*:alice:wrong-port", "db.example:5433:books:alice:right",
                "*:*:*:*:fallback");
        assertThat(PgPass.find(lines, TCP)).isEqualTo("right");
        assertThat(PgPass.find(lines, TCP.withDbname("other"))).isEqualTo("fallback");
        assertThat(PgPass.find(List.of("db.example:5433:books:bob:x"), TCP)).isNull();
    }

    @Test
    void backslashEscapesColonAndBackslash_inFieldsAndPassword() {
        assertThat(PgPass.find(List.of("db.example:*:*:alice:a\\:b\\\\c"), TCP)).isEqualTo("a:b\\c");
        ConnectionSettings odd = new ConnectionSettings("db.example", 5433, "us:er", "books", null);
        assertThat(PgPass.find(List.of("db.example:*:*:us\\:er:pw"), odd)).isEqualTo("pw");
        // An unescaped ':' ends the password, as in libpq.
        assertThat(PgPass.find(List.of("*:*:*:*:pw:rest"), TCP)).isEqualTo("pw");
        // '*' is a wildcard only as the whole field.
        assertThat(PgPass.find(List.of("db.*:*:*:*:pw"), TCP)).isNull();
        assertThat(PgPass.find(List.of("*:*:*:*:pw\r"), TCP)).isEqualTo("pw");
    }

    @Test
    void localhostOrTheDirectory_matchesASocketConnection() {
        assertThat(PgPass.find(List.of("127.0.0.1:*:*:*:no", "localhost:5432:*:postgres:yes"), SOCKET)).isEqualTo("yes");
        assertThat(PgPass.find(List.of("/var/run/postgresql:5432:*:postgres:dir"), SOCKET)).isEqualTo("dir");
        assertThat(PgPass.find(List.of("localhost:*:*:*:yes"), TCP)).isNull();
        assertThat(PgPass.find(List.of("localhost:5432:*:postgres:yes"), SOCKET.withHost("/tmp"))).isEqualTo("yes");
    }

    /**
     * libpq reads {@code localhost} as its default socket directory only: a server listening in
     * another directory (one in a shared place, started by another user) is not sent the password
     * meant for the local server.
     */
    @Test
    void localhost_doesNotMatchASocketInAnotherDirectory() {
        ConnectionSettings elsewhere = SOCKET.withHost("/home/mallory/sock");
        assertThat(PgPass.find(List.of("localhost:5432:*:postgres:secret"), elsewhere)).isNull();
        assertThat(PgPass.find(List.of("localhost:5432:*:postgres:secret", "/home/mallory/sock:*:*:*:its-own"), elsewhere)).isEqualTo("its-own");
        assertThat(PgPass.find(List.of("*:5432:*:postgres:any"), elsewhere)).isEqualTo("any");
    }
}
