package org.pgstrata.api;

import java.util.List;

/**
 * What {@code pgstrata check} found: one item per check, in order (connection, repository,
 * checksums, archive_command, archiving), and the WAL segment it switched to and saw archived.
 */
public record CheckResult(List<Item> checks, String segment, double seconds) {
    /** One check: passed or not; a failure's message, hint and exit code; null fields where none. */
    public record Item(String name, boolean ok, String message, String hint, Integer exitCode) {
        public static Item passed(String name, String message) {
            return new Item(name, true, message, null, null);
        }

        public static Item failed(String name, PgstrataException e) {
            return new Item(name, false, e.getMessage(), e.hint(), e.code().exitCode());
        }
    }

    /** True when every check passed. */
    public boolean ok() {
        return checks.stream().allMatch(Item::ok);
    }
}
