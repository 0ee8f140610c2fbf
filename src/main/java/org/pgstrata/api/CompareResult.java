package org.pgstrata.api;

import java.util.List;

/**
 * What compare measured: the workload and how it was run (enough to run it again: the seed, the
 * versions), then one row per strategy.
 *
 * @param changePerCycle inserts, updates and deletes made before each backup after the first
 */
public record CompareResult(int pgMajor, long rows, int batchSize, double populateSeconds, long databaseBytes,
                            List<StrategyRow> strategies, String pgVersion, String pgstrataVersion, long seed, int cycles,
                            Change changePerCycle, String startedAt) {
    /** A change to the books table: rows inserted, updated and deleted. */
    public record Change(int inserts, int updates, int deletes) {
        public static Change parse(String text) {
            int i = 0;
            int u = 0;
            int d = 0;
            for (String part : text.split(",")) {
                String[] kv = part.trim().split("=", 2);
                int n;
                try {
                    n = kv.length == 2 ? Integer.parseInt(kv[1].trim()) : -1;
                } catch (NumberFormatException e) {
                    n = -1;
                }
                if (n < 0) {
                    throw new PgstrataException(ErrorCode.USAGE, "invalid --change part '" + part + "'",
                            "use insert=I,update=U,delete=D with numbers, e.g. insert=1000,update=1000,delete=500");
                }
                switch (kv[0].trim()) {
                    case "insert" -> i = n;
                    case "update" -> u = n;
                    case "delete" -> d = n;
                    default -> throw new PgstrataException(ErrorCode.USAGE, "invalid --change part '" + part + "'",
                            "use insert=I,update=U,delete=D");
                }
            }
            return new Change(i, u, d);
        }

        @Override
        public String toString() {
            return "insert=" + inserts + ",update=" + updates + ",delete=" + deletes;
        }
    }
}
