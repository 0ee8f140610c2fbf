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
 * <p>Fields added after the first release are null in the manifests written before them; each
 * says what a restore does then.
 *
 * @param snapshotLsn  the WAL position when the dump's snapshot was taken
 * @param snapshotTime when the dump's snapshot was taken (ISO-8601 UTC)
 * @param dumpFormat   custom or directory
 * @param dumpSections (diff) the sections of the differential's archive: {@link #PRE_AND_POST_DATA}, so that it holds the
 *                     large objects' definitions and the materialized views' refreshes; null: --schema-only, which holds
 *                     neither (older differentials)
 * @param largeObjects the database's large objects (null: not recorded, in older backups)
 * @param databaseProperties what pg_restore restores only with --create: the database's settings and comment (null: not
 *                     recorded, in older backups)
 * @param lcMonetary   the lc_monetary its money was written under, and is read under: {@link #MONEY_LOCALE} (null, in
 *                     older backups: the source's default; a restore leaves it to the target's)
 * @param rowsEncoding the client encoding of the rows pgstrata copied itself (key indexes, a differential's rows):
 *                     "SQL_ASCII" for a SQL_ASCII database, whose rows are the bytes it stores, copied back the same way
 *                     (as pg_restore copies pg_dump's archive of it); null: UTF8
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
        String pgstrataVersion,
        String dumpSections,
        LargeObjects largeObjects,
        DatabaseProperties databaseProperties,
        String lcMonetary,
        String rowsEncoding) {


    /**
     * The lc_monetary every {@code money} value of a backup (pg_dump's and pgstrata's own rows,
     * and the column defaults in its schema) is written and read under.
     */
    public static final String MONEY_LOCALE = "C";

    /** Whether this backup's money values are written under lc_monetary C (and must be read so). */
    public boolean moneyInC() {
        return MONEY_LOCALE.equals(lcMonetary);
    }

    /**
     * 2: large objects, database properties and the dump's sections are recorded. Format 1
     * manifests are still read (and their restores say what they leave out); a pgstrata that
     * knows an older format refuses a newer one rather than restore part of it.
     */
    public static final int FORMAT_VERSION = 2;
    public static final String FULL = "logical-full";
    public static final String DIFF = "logical-diff";
    public static final String CUSTOM = "custom";
    public static final String DIRECTORY = "directory";
    public static final String PRE_AND_POST_DATA = "pre-data,post-data";

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
        if (largeObjects != null) {
            for (StoredFile f : new StoredFile[] {largeObjects.index(), largeObjects.data(), largeObjects.deletes()}) {
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
     * The database's large objects at the snapshot. A full's are in its pg_dump archive; beside
     * them it keeps an index ({@link #INDEXED}): one line per object in oid order, "oid size
     * xxh64-of-the-content". A differential's archive defines every object that exists at its
     * snapshot (owner, privileges, comment); their content is either {@link #DELTA}: the full's,
     * except the objects new or changed since ({@code data}) and those gone ({@code deletes}, one
     * oid a line), or {@link #WHOLE}: every object's content is in {@code data}, with the reason.
     *
     * @param count   objects at the snapshot
     * @param index   (full) the index, null when there are none
     * @param data    (diff) the content of the objects stored: per object its oid (8 bytes), then chunks of a 4-byte length
     *                and that many bytes, ended by a chunk of length 0; after a 7-byte header "PGSLO1\n"
     * @param changed (diff) objects in {@code data}
     * @param deleted (diff) objects of the full that are gone
     */
    public record LargeObjects(String mode, String reason, long count, StoredFile index, StoredFile data, long changed,
                               StoredFile deletes, long deleted) {
        public static final String INDEXED = "indexed";
        public static final String DELTA = "delta";
        public static final String WHOLE = "whole";
    }

    /**
     * What pg_restore restores only when it creates the database itself (--create), which a
     * restore under a temporary name cannot use: the database's comment, and its settings; its
     * owner, connection limit and privileges.
     *
     * @param owner           the database's owner (null in older backups: owner, limit and privileges are not restored)
     * @param connectionLimit the database's connection limit, -1 for none
     * @param grants          the privileges on the database, as aclexplode lists them; null: the default ones (the owner's,
     *                        and CONNECT and TEMPORARY for PUBLIC)
     * @param locale          its encoding and locale (null in older backups: the server's defaults)
     */
    public record DatabaseProperties(String comment, List<Setting> settings, String owner, Integer connectionLimit, List<Grant> grants,
                                     Locale locale) {
        public DatabaseProperties(String comment, List<Setting> settings) {
            this(comment, settings, null, null, null, null);
        }
    }

    /** One privilege on the database: its grantee (null: PUBLIC), CONNECT, CREATE or TEMPORARY, and whether with grant option. */
    public record Grant(String grantee, String privilege, boolean grantable) {
    }

    /**
     * What the database was created with, which pg_restore gives only with --create (null in
     * older backups: the server's defaults).
     *
     * @param encoding the server encoding's name (UTF8, LATIN1 ...)
     * @param provider the locale provider: c (libc), i (ICU), b (builtin); null before PostgreSQL 15
     * @param locale   the ICU or builtin locale, null with libc
     */
    public record Locale(String encoding, String collate, String ctype, String provider, String locale) {
    }

    /**
     * One setting of the database: {@code ALTER DATABASE d SET name = value}, or with a role
     * {@code ALTER ROLE role IN DATABASE d SET ...}; the value as pg_db_role_setting holds it.
     */
    public record Setting(String role, String name, String value) {
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
     * @param oid       the table's oid at the snapshot, which names its data in the pg_dump archive whatever characters
     *                  its names hold (null in older backups: matched by name)
     */
    public record LogicalTable(String schema, String name, List<Column> columns, List<String> key, String mode, String reason,
                               long rows, StoredFile keyIndex, StoredFile rowsObject, long changedRows, StoredFile deletes,
                               long deletedRows, List<String> indexes, List<String> ownedSequences, String rowFormat, Long oid,
                               String rowRules) {
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
