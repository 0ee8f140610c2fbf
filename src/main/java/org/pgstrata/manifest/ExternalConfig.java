package org.pgstrata.manifest;

/**
 * A configuration file (or an included directory) that the server read from outside its data
 * directory, as Debian's packaged clusters keep postgresql.conf, pg_hba.conf and pg_ident.conf in
 * /etc/postgresql/MAJOR/NAME. Its content is an ordinary entry of the manifest's files, at
 * {@code stored} ({@link #PREFIX} + the original path), so that checksums, incrementals, verify
 * and expire treat it like any other file; this record says what it was.
 *
 * @param setting which setting named it: config_file, hba_file, ident_file, include (a file that
 *                an include, include_if_exists or include_dir pulled in) or include_dir (a directory,
 *                stored is null)
 * @param path    its absolute path on the backed-up host
 * @param stored  its path among the manifest's files, or null for a directory
 * @param includedBy for a file or directory that an include named by a relative path: the file that named it (its path
 *                relative to the data directory when it lies there, else absolute); null otherwise, and in older manifests
 * @param includedAs that relative path as the including file wrote it (null when includedBy is)
 */
public record ExternalConfig(String setting, String path, String stored, String includedBy, String includedAs) {
    public ExternalConfig(String setting, String path, String stored) {
        this(setting, path, stored, null, null);
    }

    /** Where external files sit among a manifest's files (and, until restore moves them, in the restored directory). */
    public static final String PREFIX = "pgstrata_external_config";

    public static String storedPath(String absolutePath) {
        return PREFIX + absolutePath;
    }
}
