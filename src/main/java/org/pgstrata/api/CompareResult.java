package org.pgstrata.api;

import java.util.List;

/** What compare measured: the workload, then one row per strategy. */
public record CompareResult(int pgMajor, long rows, int batchSize, double populateSeconds, long databaseBytes,
                            List<StrategyRow> strategies) {
}
