package org.pgstrata.cli;

/**
 * The check of a --port that a server is started on (restore --start, cluster start): 1 to
 * 65535, while the command line is read. PostgreSQL refuses any other value only when it starts,
 * which for a restore is after every file was written.
 */
final class Port extends BoundedInt {
    Port() {
        super(1, 65535, "a port (1 to 65535)", "is out of range: give a port from 1 to 65535");
    }
}
