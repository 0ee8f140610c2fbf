package org.pgstrata.manifest;

import java.util.List;

/**
 * One logical backup of one database (under logical/ID/ in the repository, written last like a
 * physical manifest). A {@link #FULL} holds pg_dump's archive ({@link #dump}, one file for the
 * custom format, the files of the directory format otherwise) and, per table with a primary
 * key, a key index: the key and the XXH64 of the row's COPY text, in key order. A {@link #DIFF}
 * names its full in {@code reference} and holds a schema-only archive, the current sequence
 * values, and per table either the rows changed and the keys deleted since the full
 * ({@link LogicalTable#DELTA}) or the whole table ({@link LogicalTable#WHOLE}, with the reason).
 *
 * @param snapshotLsn  the WAL position when the dump's snapshot was taken
 * @param snapshotTime when the dump's snapshot was taken (ISO-8601 UTC)
 * @param dumpFormat   custom or directory
 */
public record LogicalManifest(
        int formatVersion,
        String id,
        String type,
        String reference,
        String systemIdentifier,
        int pgVersionNum,
        String serverVersion,
        String pgDumpVersion,
        String database,
        String snapshotLsn,
        String snapshotTime,
        String startTime,
        String stopTime,
        String compression,
        String dumpFormat,
        List<StoredFile> dump,
        List<LogicalTable> tables,
        List<SequenceValue> sequences,
        long repositoryBytes,
        String pgstrataVersion) {

    public static final int FORMAT_VERSION = 1;
    public static final String FULL = "logical-full";
    public static final String DIFF = "logical-diff";
    public static final String CUSTOM = "custom";
    public static final String DIRECTORY = "directory";

    public boolean differential() {
        return DIFF.equals(type);
    }

    public int pgMajor() {
        return pgVersionNum / 10000;
    }

    /** Every object this backup reads, all of them its own. */
    public List<StoredFile> objects() {
        List<StoredFile> all = new java.util.ArrayList<>(dump);
        for (LogicalTable t : tables) {
            for (StoredFile f : new StoredFile[] {t.keyIndex(), t.rowsObject(), t.deletes()}) {
                if (f != null) {
                    all.add(f);
                }
            }
        }
        return all;
    }

    public java.util.Optional<LogicalTable> table(String schema, String name) {
        return tables.stream().filter(t -> t.schema().equals(schema) && t.name().equals(name)).findFirst();
    }

    /** Some stored bytes: the content's size and XXH64, and where the (compressed) object is. */
    public record StoredFile(String name, long size, String checksum, ObjectRef object) {
    }

    /** A column the backup reads: its name, its type as format_type prints it. */
    public record Column(String name, String type) {
    }

    /** A sequence's state at the snapshot, for setval. */
    public record SequenceValue(String schema, String name, long lastValue, boolean isCalled) {
    }

    /**
     * One table with data.
     *
     * @param columns   the columns read and restored (generated columns are left to the server)
     * @param key       the primary key's columns, empty without one
     * @param mode      in a full: {@link #INDEXED} or {@link #UNINDEXED}; in a diff: {@link #DELTA} or {@link #WHOLE}
     * @param reason    why a diff stores the table whole
     * @param rows      the table's row count at the snapshot
     * @param keyIndex  (full, indexed) the key index
     * @param rowsObject (diff) rows inserted or updated since the full, or all rows when whole, in COPY text
     * @param deletes   (diff, delta) keys deleted since the full, in COPY text
     * @param indexes   the names of the table's indexes that are not constraints (for --table)
     * @param ownedSequences sequences owned by the table's columns (for --table)
     * @param rowFormat (full, indexed) what the key index's row hashes are taken over: {@link #BINARY} (COPY's binary
     *                  row, cheaper for the server to produce) or {@link #TEXT} (COPY's text row; also when absent)
     */
    public record LogicalTable(String schema, String name, List<Column> columns, List<String> key, String mode, String reason,
                               long rows, StoredFile keyIndex, StoredFile rowsObject, long changedRows, StoredFile deletes,
                               long deletedRows, List<String> indexes, List<String> ownedSequences, String rowFormat) {
        public static final String BINARY = "binary";
        public static final String TEXT = "text";

        public static final String INDEXED = "indexed";
        public static final String UNINDEXED = "unindexed";
        public static final String DELTA = "delta";
        public static final String WHOLE = "whole";

        public String qualified() {
            return schema + "." + name;
        }
    }
}
