package org.pgstrata.postgres;

import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The name of a relation data file inside a database directory: "16384", "16384_fsm",
 * "16384.2", "16384_vm.1", "16384_init", or a temporary relation "t3_16390". Parsed so that
 * the backup can apply PostgreSQL's rules (unlogged relations keep only their init fork,
 * temporary relations are skipped, page checksums use block numbers across segments).
 */
public record RelationFile(boolean temporary, long relfilenode, String fork, int segment) {
    private static final Pattern NAME = Pattern.compile("(t\\d+_)?(\\d+)(?:_(fsm|vm|init))?(?:\\.(\\d+))?");

    public static Optional<RelationFile> parse(String fileName) {
        Matcher m = NAME.matcher(fileName);
        if (!m.matches()) {
            return Optional.empty();
        }
        String fork = m.group(3) == null ? "main" : m.group(3);
        int segment = m.group(4) == null ? 0 : Integer.parseInt(m.group(4));
        return Optional.of(new RelationFile(m.group(1) != null, Long.parseLong(m.group(2)), fork, segment));
    }

    public boolean isMainFork() {
        return fork.equals("main");
    }

    /** Block number of the first block of this file within its fork. */
    public long firstBlock() {
        return (long) segment * Page.BLOCKS_PER_SEGMENT;
    }
}
