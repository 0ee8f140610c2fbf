package org.pgstrata.cli;

/**
 * A wait in whole seconds, at least 1: backup's --archive-timeout of 0 or less gave up on the
 * backup's WAL at once, after the whole data directory had been copied.
 */
final class WaitSeconds extends BoundedInt {
    WaitSeconds() {
        super(1, Integer.MAX_VALUE, "a number of seconds (at least 1)", "is too short: give at least 1 second");
    }
}
